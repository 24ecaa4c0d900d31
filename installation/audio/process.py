"""The audio process: clips and artwork events in over ZeroMQ, a continuous mixed stream out.

Threads: the PortAudio callback (copies from the ring buffer, nothing else), the mixer loop (this
module's `run`: keeps the ring `buffer_seconds` ahead, watches the device, sends heartbeats) and
a receiver (decodes, checks, resamples and loudness-normalises clips off the mixer's path).

The heartbeat's status says what the generator and the supervisor need: the artwork, which level
of the fallback chain plays (fresh / playlist / cached / ambient / silence), how many seconds of
fresh audio for the artwork are still to play (`ahead_s`, the generator keeps this topped up),
the last clip received (`last_clip`), underruns, and per visit the time from the camera's event
to the artwork's music reaching the speaker (`visits`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import zmq

from engines.errors import Art2MusError, ConfigError
from installation import messages
from installation.audio.clips import ClipRefused, load_library, prepare_clip
from installation.audio.mixer import Clip, Library, Mixer, MixerSettings
from installation.audio.sinks import DeviceSink, RingBuffer, make_sink, rescan_devices
from installation.config import AudioConfig, Config, IpcConfig
from installation.process import ExitCode, ProcessRuntime
from installation.schedule import OpeningHours

log = logging.getLogger(__name__)
VISITS_KEPT = 20  # in every heartbeat: kept well under the header size limit
MAX_CLIP_ID = 64
REOPEN_SECONDS = 5.0  # PortAudio can hang closing a stream whose server or device is gone


def _within(seconds: float, fn) -> None:
    """Runs `fn` in a daemon thread; a call still stuck after `seconds` counts as failed."""
    errors: list[BaseException] = []

    def target():
        try:
            fn()
        except BaseException as exc:  # handed to the caller below
            errors.append(exc)

    worker = threading.Thread(target=target, name="audio-reopen", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise Art2MusError(f"the audio library did not answer within {seconds:g} s")
    if errors:
        raise errors[0] if isinstance(errors[0], Art2MusError) else Art2MusError(str(errors[0]))


@dataclass
class Visit:
    """One artwork the camera entered: when, and when its music reached the speaker."""

    artwork: str
    event_ts: float  # the camera's wall-clock time of the change
    music_ts: float | None = None
    source: str | None = None

    def to_json(self) -> dict:
        ttm = None if self.music_ts is None else round(max(0.0, self.music_ts - self.event_ts), 3)
        return {"artwork": self.artwork, "event_ts": round(self.event_ts, 3), "time_to_music_s": ttm,
                "source": self.source}


@dataclass
class Status:
    artwork: str | None = None
    source: str | None = None
    clip: str | None = None
    last_clip: str | None = None  # the clip_id of the last clip received (the generator counts from it)
    refused: int = 0
    received: int = 0
    dropped: int = 0  # messages that failed validation
    reopened: int = 0
    quiet: bool = False
    visits: deque = field(default_factory=lambda: deque(maxlen=VISITS_KEPT))


@dataclass(frozen=True)
class ArtworkEvent:
    artwork_id: str | None
    since: float  # wall-clock time of the camera's change


class AudioProcess:
    """One mixer, one sink, fed from a queue of ArtworkEvent / Clip items."""

    def __init__(self, cfg: AudioConfig, library: Library | None = None, realtime: bool | None = None,
                 settings: MixerSettings | None = None, hours: OpeningHours | None = None):
        self.cfg = cfg
        self.events: queue.Queue = queue.Queue()
        self.mixer = Mixer(settings or MixerSettings.from_config(cfg), library or load_library(cfg))
        self.ring = RingBuffer(int(cfg.buffer_seconds * cfg.sample_rate) + cfg.block, cfg.channels)
        self.sink = make_sink(cfg, self.ring, realtime)
        self.status = Status()
        self.hours = hours
        self.stop = threading.Event()
        self.failure: str | None = None  # set by a thread that cannot go on (the receiver): the process exits
        self.lost = False
        self.mixer.on_start = self._on_start
        self._camera_artwork: str | None = None

    def _on_start(self, clip: Clip) -> None:
        self.status.source, self.status.clip = clip.source, clip.name
        visit = self.status.visits[-1] if self.status.visits else None
        if visit and visit.music_ts is None and clip.artwork_id == visit.artwork:
            # It reaches the speaker once what is already in the ring has played.
            visit.music_ts = time.time() + self.ring.filled / self.cfg.sample_rate
            visit.source = clip.source

    # events -----------------------------------------------------------------------------------
    def _drain_events(self) -> None:
        while True:
            try:
                item = self.events.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, ArtworkEvent):
                self._camera_artwork = item.artwork_id
                self._set_artwork(item)
            else:
                self.mixer.add_clip(item)

    def _set_artwork(self, event: ArtworkEvent) -> None:
        artwork = None if self.status.quiet else event.artwork_id
        if artwork == self.mixer.artwork:
            return
        self.status.artwork = artwork
        if artwork is not None:
            self.status.visits.append(Visit(artwork, event.since))
        self.mixer.set_artwork(artwork)

    def _check_hours(self) -> None:
        """Outside opening hours: silence (no artwork, no ambient); back in hours: the camera's artwork."""
        quiet = self.hours is not None and not self.hours.open_now()
        if quiet != self.status.quiet:
            self.status.quiet = quiet
            log.info("audio: %s", "closing time: quiet" if quiet else "opening time: playing")
            self.mixer.set_quiet(quiet)
            self._set_artwork(ArtworkEvent(self._camera_artwork, time.time()))

    def _stereo(self, mono: np.ndarray) -> np.ndarray:
        return np.repeat(mono[:, None], self.cfg.channels, axis=1)

    def _push_block(self) -> None:
        self.ring.write(self._stereo(self.mixer.render(self.cfg.block)))

    def fill(self) -> None:
        """Renders blocks until the ring is full."""
        while self.ring.free >= self.cfg.block:
            self._push_block()

    # device watchdog ----------------------------------------------------------------------------
    def _watch(self, last: list) -> None:
        """Reopens a device whose callback stopped advancing for stall_seconds; raises when it cannot.
        A file sink is never reopened: reopening would truncate what it wrote."""
        if not isinstance(self.sink, DeviceSink):
            return
        frames, since = last
        now = time.monotonic()
        if self.sink.stats.frames != frames:
            last[:] = [self.sink.stats.frames, now]
            return
        if now - since < self.cfg.stall_seconds and self.sink.alive:
            return
        for attempt in range(1, self.cfg.reopen_attempts + 1):
            log.error("audio: %r stalled or lost (no callback for %.1f s); reopening, attempt %d",
                      self.sink.device_name, now - since, attempt)
            try:
                _within(REOPEN_SECONDS, self._reopen)
                self.status.reopened += 1
                last[:] = [self.sink.stats.frames, time.monotonic()]
                return
            except Art2MusError as exc:
                log.error("audio: reopen failed: %s", exc)
                time.sleep(min(2.0 ** attempt, 10.0))
        self.lost = True
        raise Art2MusError(f"audio device {self.sink.device_name!r} is gone and could not be reopened; exiting so "
                           "the supervisor restarts the audio process")

    def _reopen(self) -> None:
        self.sink.close()
        rescan_devices()
        self.sink.open()

    def level(self) -> str:
        """Which level of the fallback chain is playing now."""
        cur = self.mixer.current
        return "silence" if cur is None or cur.fading_out else cur.clip.source

    def snapshot(self) -> dict:
        st, m = self.sink.stats, self.mixer.stats
        return {"artwork": self.status.artwork, "level": self.level(), "source": self.status.source,
                "clip": self.status.clip, "ahead_s": round(self.mixer.ahead_seconds(), 3),
                "buffered_s": round(self.ring.filled / self.cfg.sample_rate, 3), "last_clip": self.status.last_clip,
                "device": self.sink.device_name, "underruns": st.underruns, "xruns": st.xruns,
                "frames": st.frames,
                "played_s": round(st.frames / self.cfg.sample_rate, 2),
                "callback_p99_ms": round(st.p99() * 1000, 3), "callback_max_ms": round(st.worst() * 1000, 3),
                "block_ms": round(1000 * self.cfg.block / self.cfg.sample_rate, 3),
                "refused": self.status.refused, "received": self.status.received, "dropped": self.status.dropped,
                "reopened": self.status.reopened, "started": dict(m.started), "crossfades": m.crossfades,
                "artwork_switches": m.artwork_switches, "quiet": self.status.quiet,
                "visits": [v.to_json() for v in self.status.visits]}

    # main loop --------------------------------------------------------------------------------
    def run(self, publish=None, until_silent: bool = False) -> int:
        """Plays until `stop` is set (then fades out), or with `until_silent` until nothing is left.
        `publish(snapshot_fn)` is called every turn of the loop (it decides when a heartbeat is due)."""
        self.fill()  # before the stream starts: its first callbacks find audio waiting
        self.sink.stats.last_frame = None
        self.sink.open()
        period = self.cfg.block / self.cfg.sample_rate
        watch = [self.sink.stats.frames, time.monotonic()]
        paced = isinstance(self.sink, DeviceSink) or self.sink.realtime
        buf = np.zeros((self.cfg.block, self.cfg.channels), np.float32)
        try:
            while not self.stop.is_set():
                self._check_hours()
                self._drain_events()
                self.fill()
                if not paced:
                    self.sink.pull(buf)
                else:
                    time.sleep(period / 2)
                    self._watch(watch)
                if publish:
                    publish(self.snapshot)
                if until_silent and self.mixer.silent and self.events.empty():
                    break
            self._fade_out(paced, buf)
            return 0
        finally:
            if not self.lost:  # a lost device's stream is abandoned: closing it is what hangs
                try:
                    _within(REOPEN_SECONDS, self.sink.close)
                except Art2MusError as exc:
                    log.error("audio: closing %r: %s", self.sink.device_name, exc)

    def _fade_out(self, paced: bool, buf: np.ndarray) -> None:
        self.mixer.stop(self.cfg.stop_fade_seconds)
        deadline = time.monotonic() + self.cfg.stop_fade_seconds + self.cfg.buffer_seconds + 2
        while time.monotonic() < deadline and (not self.mixer.silent or self.ring.filled):
            if self.ring.free >= self.cfg.block and not self.mixer.silent:
                self._push_block()
            if self.mixer.silent and self.sink.stats.last_frame is None:
                self.sink.stats.last_frame = self.ring.written  # the fade is all in the ring: nothing follows
            if paced:
                time.sleep(self.cfg.block / self.cfg.sample_rate / 2)
            else:
                self.sink.pull(buf)


class Receiver(threading.Thread):
    """Artwork events (SUB) and clips (PULL) into the audio process's event queue. A bad message
    is logged and dropped; anything else that stops this thread stops the process (never deaf)."""

    def __init__(self, proc: AudioProcess, ipc: IpcConfig, ctx: zmq.Context):
        super().__init__(name="audio-receiver", daemon=True)
        self.proc, self.ipc, self.ctx = proc, ipc, ctx
        self.ready = threading.Event()
        self.error: str | None = None

    def run(self) -> None:
        try:
            self._serve()
        except Exception as exc:  # whatever it was, the process must not play on deaf
            self.error = f"the audio receiver stopped: {exc}"
            log.exception("audio: receiver failed")
        finally:
            if not self.proc.stop.is_set():
                self.proc.failure = self.error or "the audio receiver stopped"
                self.proc.stop.set()
            self.ready.set()

    def _serve(self) -> None:
        events = messages.socket(self.ctx, zmq.SUB, self.ipc.artwork_events, bind=False)
        try:
            clips = messages.socket(self.ctx, zmq.PULL, self.ipc.clips, bind=True, hwm=8)
        except Art2MusError:
            events.close()
            raise
        self.ready.set()
        poller = zmq.Poller()
        poller.register(events, zmq.POLLIN)
        poller.register(clips, zmq.POLLIN)
        try:
            while not self.proc.stop.is_set():
                for sock, _ in poller.poll(200):
                    self._handle(sock)
        finally:
            events.close()
            clips.close()

    def _handle(self, sock: zmq.Socket) -> None:
        try:
            msg = messages.decode(sock.recv_multipart(copy=False))
        except messages.MessageError as exc:
            self.proc.status.dropped += 1
            log.error("audio: dropped a message: %s", exc)
            return
        if msg.kind == "artwork":
            since = messages.finite_float(msg.data.get("since"))
            self.proc.events.put(ArtworkEvent(msg.artwork_id, msg.ts if since is None else since))
        elif msg.kind == "clip":
            self._clip(msg)

    def _clip(self, msg: messages.Message) -> None:
        self.proc.status.received += 1
        clip_id = msg.data.get("clip_id")
        self.proc.status.last_clip = clip_id if isinstance(clip_id, str) and len(clip_id) <= MAX_CLIP_ID else None
        name = f"{msg.artwork_id}#{msg.seq}"
        source = "cached" if msg.data.get("from_cache") is True else "fresh"
        try:
            clip = prepare_clip(msg.array, msg.sample_rate, self.proc.cfg, msg.artwork_id, source, name)
        except ClipRefused as exc:
            self.proc.status.refused += 1
            log.error("audio: %s", exc)
            return
        except Exception:  # a clip the level code cannot handle is a bad clip, not a reason to go deaf
            self.proc.status.refused += 1
            log.exception("audio: clip %s could not be prepared; refused", name)
            return
        self.proc.events.put(clip)


def run_audio_process(cfg: Config) -> int:
    """`art2mus audio`: the kiosk's audio process until SIGTERM/SIGINT (fade out, exit 0); a device
    that is lost for good exits DEVICE_LOST, a receiver that cannot run exits BUS, a sound device
    that does not exist exits CONFIG (the supervisor does not restart that)."""
    runtime = ProcessRuntime("audio")
    runtime.install_signals()
    proc = AudioProcess(cfg.audio, hours=OpeningHours.from_config(cfg.schedule))
    proc.stop = runtime.stop
    runtime.bind_heartbeat(cfg.ipc.audio_status)
    receiver = Receiver(proc, cfg.ipc, runtime.ctx)
    receiver.start()
    receiver.ready.wait(10)
    if receiver.error:
        log.error("%s", receiver.error)
        runtime.close()
        return ExitCode.BUS

    def publish(snapshot) -> None:
        runtime.beat("quiet" if proc.status.quiet else "running", snapshot, proc.status.artwork)

    code = ExitCode.OK
    try:
        proc.run(publish)
        if proc.failure:
            log.error("audio: %s; exiting for the supervisor", proc.failure)
            code = ExitCode.BUS
    except ConfigError as exc:
        log.error("%s", exc)
        code = ExitCode.CONFIG
    except Art2MusError as exc:
        log.error("%s", exc)
        code = ExitCode.DEVICE_LOST
    finally:
        proc.stop.set()
        receiver.join(timeout=2)
        runtime.beat("stopped", proc.snapshot, proc.status.artwork, force=True)
        runtime.close(linger_seconds=0.2)  # the last heartbeat (final numbers) leaves before the socket closes
        log.info("audio: final status %s", {k: v for k, v in proc.snapshot().items() if k != "visits"})
    return code
