"""The camera process: frames in, debounced artwork events out over ZeroMQ.

Sources: a device index or path (/dev/video0), a GStreamer pipeline string (Jetson CSI cameras
through nvarguscamerasrc; anything containing '!'), a video file (optionally looped), or
`synthetic` (a gallery walk rendered from the catalog). Recognition runs at `recognition_hz`;
an artwork is entered when it wins `enter_k` of the last `enter_n` recognitions, left after
`leave_seconds` without it, and held at least `min_dwell_seconds`. Events are published on every
change and re-published about once a second for late joiners, with heartbeats carrying the
status (frame rate, recognition time, current artwork). A watchdog reconnects, with backoff, a
source that stops delivering or repeats a frozen frame.

Frames never leave this process: nothing is written to disk, only small JSON messages are sent.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import zlib
from collections import Counter, deque
from dataclasses import dataclass, field

import cv2
import numpy as np
import zmq

from engines.errors import Art2MusError
from installation import messages
from installation.catalog import Catalog, load_catalog
from installation.config import CameraConfig, IpcConfig
from installation.recognition import Recognizer
from installation.synthetic import view

log = logging.getLogger(__name__)


# --- sources -----------------------------------------------------------------------------------

class OpenCVSource:
    """A camera index, a device or video path, or a GStreamer pipeline, through cv2.VideoCapture."""

    def __init__(self, spec: str, loop: bool, size: tuple[int, int]):
        self.spec, self.loop, self.size = spec, loop, size
        self.cap: cv2.VideoCapture | None = None
        self.is_file = False
        self.next_due = 0.0
        self.period = 0.0

    def open(self) -> None:
        spec = self.spec
        if "!" in spec:
            cap = cv2.VideoCapture(spec, cv2.CAP_GSTREAMER)
        elif spec.isdigit():
            cap = cv2.VideoCapture(int(spec))
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
        else:
            cap = cv2.VideoCapture(spec)
            self.is_file = not spec.startswith(("/dev/", "rtsp:", "http:", "https:"))
        if not cap.isOpened():
            cap.release()
            raise Art2MusError(f"camera.source={spec!r} could not be opened (no such device, file or pipeline?)")
        self.cap = cap
        fps = cap.get(cv2.CAP_PROP_FPS) if self.is_file else 0.0
        self.period = 1.0 / fps if fps and fps > 0 else 0.0  # a file plays in real time, as a camera would
        self.next_due = time.monotonic()

    def read(self) -> np.ndarray | None:
        if self.period:
            time.sleep(max(0.0, self.next_due - time.monotonic()))
            self.next_due += self.period
        ok, frame = self.cap.read()
        if not ok and self.is_file and self.loop:
            self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self.cap.read()
        return frame if ok else None

    @property
    def finished(self) -> bool:
        """A video file that ended without looping."""
        return self.is_file and not self.loop and self.cap is not None and \
            self.cap.get(cv2.CAP_PROP_POS_FRAMES) >= self.cap.get(cv2.CAP_PROP_FRAME_COUNT) > 0

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None


@dataclass
class WalkSegment:
    artwork_id: str | None
    seconds: float


def walk_plan(ids: list[str], seed: int, segments: int = 12) -> list[WalkSegment]:
    """A visitor approaches works, lingers, leaves, and comes back to one seen before."""
    rng = np.random.default_rng(seed)
    plan: list[WalkSegment] = []
    for i in range(segments):
        if i % 3 == 2:
            plan.append(WalkSegment(None, float(rng.uniform(2, 4))))  # between works
        elif i % 4 == 3 and plan:
            seen = [s.artwork_id for s in plan if s.artwork_id]
            plan.append(WalkSegment(seen[0] if seen else ids[0], float(rng.uniform(4, 8))))  # comes back
        else:
            plan.append(WalkSegment(ids[int(rng.integers(0, len(ids)))], float(rng.uniform(4, 8))))
    return plan


class SyntheticWalk:
    """Frames of a gallery walk rendered from the catalog's own images, paced at `fps`."""

    def __init__(self, catalog: Catalog, fps: float, seed: int = 0, plan: list[WalkSegment] | None = None):
        if not catalog.artworks:
            raise Art2MusError(f"camera.source=synthetic needs a catalog with images; {catalog.folder} has none")
        self.images = {i: cv2.imread(str(a.path)) for i, a in catalog.artworks.items()}
        self.plan = plan or walk_plan(sorted(self.images), seed)
        self.fps, self.seed = fps, seed
        self.start = 0.0
        self.frame_no = 0

    def open(self) -> None:
        self.start = time.monotonic()

    def truth(self, t: float) -> str | None:
        """The artwork in view `t` seconds into the walk (for tests and the demo's summary)."""
        t %= sum(s.seconds for s in self.plan)
        for s in self.plan:
            if t < s.seconds:
                return s.artwork_id
            t -= s.seconds
        return None

    def read(self) -> np.ndarray | None:
        due = self.start + self.frame_no / self.fps
        time.sleep(max(0.0, due - time.monotonic()))
        t = self.frame_no / self.fps
        self.frame_no += 1
        return self.frame_at(t)

    def frame_at(self, t: float) -> np.ndarray:
        """The camera's view `t` seconds into the walk; it changes a little every second, like a visitor's sway."""
        art_id = self.truth(t)
        art = self.images[art_id] if art_id else None
        return view(art, self.seed * 1_000_003 + int(t) * 7919 + zlib.crc32(str(art_id).encode()) % 997)

    finished = False

    def close(self) -> None:
        pass


def make_source(cfg: CameraConfig, catalog: Catalog):
    if cfg.source == "synthetic":
        return SyntheticWalk(catalog, cfg.fps, cfg.synthetic_seed)
    return OpenCVSource(cfg.source, cfg.loop, (cfg.width, cfg.height))


# --- debouncing ---------------------------------------------------------------------------------

class Debouncer:
    """Hysteresis over recognitions: enter on k of the last n, leave after a timeout, hold a minimum dwell."""

    def __init__(self, enter_k: int, enter_n: int, leave_seconds: float, min_dwell: float):
        self.k, self.window = enter_k, deque(maxlen=enter_n)
        self.leave_seconds, self.min_dwell = leave_seconds, min_dwell
        self.current: str | None = None
        self.entered_at = self.last_seen = 0.0

    def update(self, artwork_id: str | None, now: float) -> bool:
        """Feeds one recognition; True when the current artwork changed."""
        self.window.append(artwork_id)
        if artwork_id is not None and artwork_id == self.current:
            self.last_seen = now
        votes = Counter(a for a in self.window if a is not None)
        leader, count = votes.most_common(1)[0] if votes else (None, 0)
        held = now - self.entered_at >= self.min_dwell
        if leader is not None and leader != self.current and count >= self.k and (self.current is None or held):
            self.current, self.entered_at, self.last_seen = leader, now, now
            return True
        if self.current is not None and now - self.last_seen >= self.leave_seconds and held:
            self.current, self.entered_at = None, now
            return True
        return False


# --- the process --------------------------------------------------------------------------------

@dataclass
class CameraStatus:
    frames: int = 0
    fps: float = 0.0
    recognitions: int = 0
    recognition_ms: float = 0.0
    artwork: str | None = None
    last_seen: str | None = None
    reconnects: int = 0
    source: str = ""
    times: deque = field(default_factory=lambda: deque(maxlen=50))

    def to_json(self) -> dict:
        return {"frames": self.frames, "fps": round(self.fps, 2), "recognitions": self.recognitions,
                "recognition_ms": round(self.recognition_ms, 2), "artwork": self.artwork, "last_seen": self.last_seen,
                "reconnects": self.reconnects, "source": self.source}


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


class CameraProcess:
    def __init__(self, cfg: CameraConfig, ipc: IpcConfig, catalog: Catalog, source=None):
        self.cfg, self.ipc = cfg, ipc
        self.catalog = catalog
        self.recognizer = Recognizer(catalog.features)
        self.source = source or make_source(cfg, catalog)
        self.debouncer = Debouncer(cfg.enter_k, cfg.enter_n, cfg.leave_seconds, cfg.min_dwell_seconds)
        self.status = CameraStatus(source=cfg.source)
        self.stop = threading.Event()
        self.seq = 0

    def _event(self, kind: str) -> messages.Message:
        self.seq += 1
        art = self.debouncer.current
        data = {"status": self.status.to_json()}
        if kind == "artwork" and art:
            info = self.catalog.artworks[art].info
            data.update({k: v for k, v in (("title", info.title), ("artist", info.artist)) if v})
        return messages.Message(kind, art, seq=self.seq, data=data)

    def _connect(self, attempt: int) -> bool:
        try:
            self.source.open()
            return True
        except Art2MusError as exc:
            delay = min(self.cfg.reconnect_max_seconds, 0.5 * 2 ** attempt)
            log.error("camera: %s; retrying in %.1f s", exc, delay)
            self.stop.wait(delay)
            return False

    def run(self) -> int:
        ctx = zmq.Context()
        pub = messages.socket(ctx, zmq.PUB, self.ipc.artwork_events, bind=True)
        try:
            return self._loop(pub)
        finally:
            self.source.close()
            pub.close()
            ctx.term()

    def _loop(self, pub) -> int:
        attempt = 0
        while not self.stop.is_set() and not self._connect(attempt):
            attempt += 1
        watchdog = FrameWatchdog(self.cfg.stale_seconds)
        period = 1.0 / self.cfg.recognition_hz
        next_recognition = next_state = 0.0
        while not self.stop.is_set():
            frame = self.source.read()
            now = time.monotonic()
            if not watchdog.fresh(frame):
                self.status.reconnects += 1
                log.error("camera: %r delivered no new frame for %.1f s; reconnecting", self.cfg.source,
                          self.cfg.stale_seconds)
                self.source.close()
                attempt = 0
                while not self.stop.is_set() and not self._connect(attempt):
                    attempt += 1
                watchdog.reset()
                continue
            if frame is None:
                if self.source.finished:
                    break
                self.stop.wait(0.01)
                continue
            self._count_frame(now)
            if now >= next_recognition:
                next_recognition = now + period
                if self._recognize(frame, now):
                    messages.send(pub, self._event("artwork"))
                    log.info("camera: artwork %s", self.debouncer.current)
            if now >= next_state:  # state for late joiners, and a heartbeat with the status
                next_state = now + self.cfg.republish_seconds
                messages.send(pub, self._event("artwork"))
                messages.send(pub, self._event("heartbeat"))
        return 0

    def _count_frame(self, now: float) -> None:
        self.status.frames += 1
        self.status.times.append(now)
        if len(self.status.times) > 1:
            self.status.fps = (len(self.status.times) - 1) / max(self.status.times[-1] - self.status.times[0], 1e-6)

    def _recognize(self, frame: np.ndarray, now: float) -> bool:
        r = self.recognizer.recognize(frame)  # any size: the recognizer works at its own width
        self.status.recognitions += 1
        self.status.recognition_ms = 1000 * r.seconds
        self.status.last_seen = r.artwork_id
        changed = self.debouncer.update(r.artwork_id, now)
        self.status.artwork = self.debouncer.current
        return changed


def run_camera_process(cfg: CameraConfig, ipc: IpcConfig, catalog_folder: str) -> int:
    proc = CameraProcess(cfg, ipc, load_catalog(catalog_folder))

    def on_signal(signum, frame):
        proc.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return proc.run()
