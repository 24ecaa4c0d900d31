"""The camera process: frames in, debounced artwork events out over ZeroMQ.

Frames come from a Source (sources.py); recognition runs at `recognition_hz`, the work last
recognised confirmed on its place, and a still scene given the answer of a frame checked a moment ago, before
a frame is searched (recognition/track.py); the Debouncer (debounce.py) turns recognitions into entering and
leaving artworks. Events are published on every change and re-published about once a second for late
joiners, with heartbeats carrying the status (frame rate, recognition time, current artwork). A
watchdog reconnects, with backoff, a source that stops delivering or repeats a frozen frame.

Frames never leave this process: nothing is written to disk, only small JSON messages are sent.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import zmq

from engines.errors import Art2MusError
from installation import messages
from installation.catalog import Catalog, load_catalog, recognizer_for
from installation.config import CameraConfig, IpcConfig
from installation.camera.debounce import Debouncer, VisitEvidence
from installation.camera.sources import make_source
from installation.process import ProcessRuntime
from installation.recognition.track import Tracker

log = logging.getLogger(__name__)


@dataclass
class CameraStatus:
    frames: int = 0
    fps: float = 0.0
    recognitions: int = 0
    recognition_ms: float = 0.0
    confirmed: int = 0  # recognitions that confirmed the work held on its place (no search)
    still: int = 0  # recognitions of a still scene, given a frame's answer checked in it (no search, no confirmation)
    glare_off: int = 0  # searches that found their work on a second look, the frame's glare spots taken off
    artwork: str | None = None
    last_seen: str | None = None
    reconnects: int = 0
    source: str = ""
    lookalikes: dict | None = None  # the catalog's look-alikes the verifier was refitted on (catalog.recognizer_for)
    times: deque = field(default_factory=lambda: deque(maxlen=50))

    def to_json(self) -> dict:
        return {"frames": self.frames, "fps": round(self.fps, 2), "recognitions": self.recognitions,
                "recognition_ms": round(self.recognition_ms, 2), "confirmed": self.confirmed, "still": self.still,
                "glare_off": self.glare_off, "artwork": self.artwork, "last_seen": self.last_seen,
                "reconnects": self.reconnects, "source": self.source, "lookalikes": self.lookalikes}


class FrameWatchdog:
    """A source that delivers nothing, or the same frame over and over (a USB camera after an
    unplug can do either), for `seconds` is stale."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.last_new = time.monotonic()
        self.last_hash: int | None = None

    def fresh(self, frame: np.ndarray | None) -> bool:
        now = time.monotonic()
        if frame is not None:
            h = zlib.crc32(frame[::8, ::8].tobytes())  # a sparse hash: cheap, and noise changes it
            if h != self.last_hash:
                self.last_hash, self.last_new = h, now
        return now - self.last_new < self.seconds

    def reset(self) -> None:
        self.last_new, self.last_hash = time.monotonic(), None


class _Stopped(Exception):
    """The camera was asked to stop while it prepared its recogniser."""


class CameraProcess:
    def __init__(self, cfg: CameraConfig, ipc: IpcConfig, catalog: Catalog, source=None,
                 runtime: ProcessRuntime | None = None):
        self.cfg, self.ipc = cfg, ipc
        self.catalog = catalog
        self.tracker: Tracker | None = None  # prepare()
        self.source = source or make_source(cfg, catalog)
        self.debouncer = Debouncer(cfg.enter_k, cfg.enter_n, cfg.leave_seconds, cfg.min_dwell_seconds,
                                   VisitEvidence() if cfg.visit_evidence else None)
        self.status = CameraStatus(source=cfg.source)
        self.runtime = runtime or ProcessRuntime("camera", cfg.republish_seconds)
        self.stop = self.runtime.stop
        self.state = "starting"
        self.changed_at = time.time()  # wall time of the last change, carried by every re-publish
        self.seq = 0
        self.pub = None

    def _artwork_message(self, change: bool) -> messages.Message:
        self.seq += 1
        art = self.debouncer.current
        data = {"change": change, "since": self.changed_at}
        if art:
            info = self.catalog.artworks[art].info
            data.update({k: v for k, v in (("title", info.title), ("artist", info.artist)) if v})
        return messages.Message("artwork", art, seq=self.seq, data=data)

    def _publish_state(self, force: bool = False) -> None:
        """The current artwork and a heartbeat, once per republish period (late joiners catch up)."""
        if self.runtime.beat(self.state, self.status.to_json, self.debouncer.current, force=force):
            messages.send(self.pub, self._artwork_message(change=False))

    def _set_artwork(self, artwork_id: str | None, reason: str) -> None:
        if self.debouncer.current == artwork_id:
            return
        self.debouncer.force(artwork_id, time.monotonic())
        self._announce(reason)

    def _announce(self, reason: str) -> None:
        self.changed_at = time.time()
        self.status.artwork = self.debouncer.current
        messages.send(self.pub, self._artwork_message(change=True))
        log.info("camera: artwork %s (%s)", self.debouncer.current, reason)

    def _connect(self) -> None:
        """Opens the source, retrying with backoff; heartbeats go on meanwhile, and after
        leave_seconds without frames the artwork is left (nobody can be seen)."""
        attempt, lost_at = 0, time.monotonic()
        while not self.stop.is_set():
            try:
                self.source.open()
                self.state = "running"
                return
            except Art2MusError as exc:
                self.state = "reconnecting"
                delay = min(self.cfg.reconnect_max_seconds, 0.5 * 2 ** attempt)
                log.error("camera: %s; retrying in %.1f s", exc, delay)
                attempt += 1
                deadline = time.monotonic() + delay
                while not self.stop.is_set() and time.monotonic() < deadline:
                    if time.monotonic() - lost_at >= self.cfg.leave_seconds:
                        self._set_artwork(None, "no frames")
                    self._publish_state()
                    self.stop.wait(min(0.2, self.cfg.republish_seconds))

    def prepare(self) -> None:
        """Builds the recogniser, its catalog's look-alikes learnt (catalog.recognizer_for: a minute for 500 works
        the first time), heartbeating "loading" meanwhile so that the supervisor does not take a long first start
        for a hung one; a stop asked for meanwhile ends it (_Stopped), what was learnt kept. run() calls it."""
        def progress(done: int, works: int) -> None:
            if self.stop.is_set():
                raise _Stopped
            self.runtime.beat("loading", {"lookalikes": {"learnt": done, "works": works}, "source": self.cfg.source})

        recognizer = recognizer_for(self.catalog, progress=progress)
        self.tracker = Tracker(recognizer, self.cfg.search_every)
        self.status.lookalikes = recognizer.learnt.summary() if recognizer.learnt else None

    def run(self) -> int:
        self.pub = messages.socket(self.runtime.ctx, zmq.PUB, self.ipc.artwork_events, bind=True)
        self.runtime.use_publisher(self.pub)
        try:
            self.prepare()
            return self._loop()
        except _Stopped:
            log.info("camera: stopped while learning the catalog's look-alikes (what was learnt is kept)")
            return 0
        finally:
            self.source.close()
            self.runtime.close()

    def _loop(self) -> int:
        self._connect()
        watchdog = FrameWatchdog(self.cfg.stale_seconds)
        period = 1.0 / self.cfg.recognition_hz
        next_recognition = time.monotonic()
        while not self.stop.is_set():
            frame = self.source.read()
            now = time.monotonic()
            if not watchdog.fresh(frame):
                self.status.reconnects += 1
                log.error("camera: %r delivered no new frame for %.1f s; reconnecting", self.cfg.source,
                          self.cfg.stale_seconds)
                self.source.close()
                self._connect()
                watchdog.reset()
                self.tracker.forget()  # the camera may point elsewhere now
                continue
            if frame is None:
                if self.source.finished:
                    self._set_artwork(None, "the video ended")
                    self._publish_state(force=True)
                    break
                self._publish_state()
                self.stop.wait(0.01)
                continue
            self._count_frame(now)
            if now >= next_recognition:
                # Scheduled from the previous target, not this frame's arrival: the configured rate holds.
                next_recognition = max(next_recognition + period, now - period)
                if self._recognize(frame, now):
                    self._announce("recognised")
            self._publish_state()
        return 0

    def _count_frame(self, now: float) -> None:
        self.status.frames += 1
        self.status.times.append(now)
        if len(self.status.times) > 1:
            self.status.fps = (len(self.status.times) - 1) / max(self.status.times[-1] - self.status.times[0], 1e-6)

    def _recognize(self, frame: np.ndarray, now: float) -> bool:
        r = self.tracker.recognize(frame)  # any size: the recognizer works at its own width
        self.status.recognitions += 1
        self.status.recognition_ms = 1000 * r.seconds
        self.status.confirmed = self.tracker.counts.confirmed
        self.status.still = self.tracker.counts.still
        self.status.glare_off = self.tracker.counts.glare_off
        self.status.last_seen = r.artwork_id
        # The whole Recognition: its confidence and best candidate are the visit's evidence.
        changed = self.debouncer.update(r, now)
        self.status.artwork = self.debouncer.current
        return changed


def run_camera_process(cfg: CameraConfig, ipc: IpcConfig, catalog_folder: str) -> int:
    runtime = ProcessRuntime("camera", cfg.republish_seconds)
    runtime.install_signals()
    proc = CameraProcess(cfg, ipc, load_catalog(catalog_folder), runtime=runtime)
    return proc.run()
