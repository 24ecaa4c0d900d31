"""The audio process: clips and artwork events in over ZeroMQ, a continuous mixed stream out.

Threads: the PortAudio callback (copies from the ring buffer, nothing else), the mixer loop (this
module's `run`: keeps the ring `buffer_seconds` ahead, watches the device, publishes status) and
a receiver (decodes, checks, resamples and loudness-normalises clips off the mixer's path).
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import zmq

from engines.errors import Art2MusError
from installation import messages
from installation.config import AudioConfig, IpcConfig
from installation.levels import ClipRefused, check_clip, normalize
from installation.mixer import Clip, Library, Mixer, MixerSettings
from installation.sinks import DeviceSink, FileSink, RingBuffer, rescan_devices

log = logging.getLogger(__name__)
EXIT_DEVICE_LOST = 3
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


def mixer_settings(cfg: AudioConfig, **overrides) -> MixerSettings:
    base = dict(rate=cfg.sample_rate, crossfade=cfg.crossfade_seconds, change_crossfade=cfg.change_crossfade_seconds,
                leave_fade=cfg.leave_fade_seconds, idle_silence_after=cfg.idle_silence_after_seconds,
                limiter_ceiling_db=cfg.limiter_ceiling_db)
    return MixerSettings(**{**base, **overrides})


def prepare_clip(wave: np.ndarray, rate: int, cfg: AudioConfig, artwork_id: str | None, source: str, name: str) -> Clip:
    """Checks, resamples to the device rate and normalises loudness. Raises ClipRefused."""
    wave = check_clip(wave, name)
    if rate != cfg.sample_rate:
        wave = soxr.resample(wave, rate, cfg.sample_rate, quality="HQ").astype(np.float32)
    return Clip(normalize(wave, cfg.sample_rate, cfg.loudness_lufs, name), artwork_id, source, name)


def read_clip_file(path: Path, cfg: AudioConfig, artwork_id: str | None, source: str) -> Clip:
    try:
        wave, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise ClipRefused(f"clip {path}: not a readable audio file ({exc})") from None
    return prepare_clip(wave.mean(axis=1), rate, cfg, artwork_id, source, str(path))


def load_library(cfg: AudioConfig) -> Library:
    """Playlist clips (PLAYLISTS/ARTWORK_ID/*.wav) and ambient clips (AMBIENT/*.wav); broken files are
    logged by name and skipped."""
    def clips(folder: Path, artwork_id, source) -> list[Clip]:
        out = []
        for path in sorted(folder.glob("*.wav")):
            try:
                out.append(read_clip_file(path, cfg, artwork_id, source))
            except ClipRefused as exc:
                log.error("%s", exc)
        return out

    playlists = {}
    if cfg.playlists and Path(cfg.playlists).is_dir():
        playlists = {d.name: clips(d, d.name, "playlist") for d in sorted(Path(cfg.playlists).iterdir()) if d.is_dir()}
    ambient = clips(Path(cfg.ambient), None, "ambient") if cfg.ambient and Path(cfg.ambient).is_dir() else []
    return Library(playlists, ambient)


def make_sink(cfg: AudioConfig, ring: RingBuffer, realtime: bool | None = None):
    if cfg.sink.startswith("file:"):
        path = Path(cfg.sink[5:])
        if path.suffix.lower() != ".wav":
            raise Art2MusError(f"audio.sink={cfg.sink!r}: a file sink must end in .wav")
        return FileSink(path, cfg.sample_rate, cfg.channels, cfg.block, ring,
                        cfg.file_realtime if realtime is None else realtime)
    return DeviceSink(cfg.sink, cfg.sample_rate, cfg.channels, cfg.block, ring)


@dataclass
class Status:
    artwork: str | None = None
    source: str | None = None
    clip: str | None = None
    refused: int = 0
    received: int = 0
    reopened: int = 0


class AudioProcess:
    """One mixer, one sink, fed from a queue of ("artwork", id) / ("clip", Clip) events."""

    def __init__(self, cfg: AudioConfig, library: Library | None = None, realtime: bool | None = None,
                 settings: MixerSettings | None = None):
        self.cfg = cfg
        self.events: queue.Queue = queue.Queue()
        self.mixer = Mixer(settings or mixer_settings(cfg), library or load_library(cfg))
        self.ring = RingBuffer(int(cfg.buffer_seconds * cfg.sample_rate) + cfg.block, cfg.channels)
        self.sink = make_sink(cfg, self.ring, realtime)
        self.status = Status()
        self.stop = threading.Event()
        self.lost = False
        self.mixer.on_start = self._on_start

    def _on_start(self, clip: Clip) -> None:
        self.status.source, self.status.clip = clip.source, clip.name

    # events -----------------------------------------------------------------------------------
    def _drain_events(self) -> None:
        while True:
            try:
                kind, value = self.events.get_nowait()
            except queue.Empty:
                return
            if kind == "artwork":
                self.status.artwork = value
                self.mixer.set_artwork(value)
            else:
                self.mixer.add_clip(value)

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
        """Reopens a sink whose callback stopped advancing for stall_seconds; raises when it cannot."""
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

    def snapshot(self) -> dict:
        st = self.sink.stats
        return {"artwork": self.status.artwork, "source": self.status.source, "clip": self.status.clip,
                "device": self.sink.device_name, "underruns": st.underruns, "frames": st.frames,
                "callback_p99_ms": round(st.p99() * 1000, 3),
                "block_ms": round(1000 * self.cfg.block / self.cfg.sample_rate, 3),
                "refused": self.status.refused, "received": self.status.received, "reopened": self.status.reopened,
                "started": dict(self.mixer.stats.started)}

    # main loop --------------------------------------------------------------------------------
    def run(self, publish=None, until_silent: bool = False) -> int:
        """Plays until `stop` is set (then fades out), or with `until_silent` until nothing is left."""
        self.fill()  # before the stream starts: its first callbacks find audio waiting
        self.sink.open()
        period = self.cfg.block / self.cfg.sample_rate
        watch, next_status = [self.sink.stats.frames, time.monotonic()], 0.0
        paced = isinstance(self.sink, DeviceSink) or self.sink.realtime
        buf = np.zeros((self.cfg.block, self.cfg.channels), np.float32)
        try:
            while not self.stop.is_set():
                self._drain_events()
                self.fill()
                if not paced:
                    self.sink.pull(buf)
                else:
                    time.sleep(period / 2)
                    self._watch(watch)
                if publish and time.monotonic() >= next_status:
                    publish(self.snapshot())
                    next_status = time.monotonic() + 1.0
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
            if paced:
                time.sleep(self.cfg.block / self.cfg.sample_rate / 2)
            else:
                self.sink.pull(buf)


class Receiver(threading.Thread):
    """Artwork events (SUB) and clips (PULL) into the audio process's event queue."""

    def __init__(self, proc: AudioProcess, ipc: IpcConfig, ctx: zmq.Context):
        super().__init__(name="audio-receiver", daemon=True)
        self.proc, self.ipc, self.ctx = proc, ipc, ctx

    def run(self) -> None:
        events = messages.socket(self.ctx, zmq.SUB, self.ipc.artwork_events, bind=False)
        clips = messages.socket(self.ctx, zmq.PULL, self.ipc.clips, bind=True, hwm=8)
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
            log.error("audio: dropped a message: %s", exc)
            return
        if msg.kind == "artwork":
            self.proc.events.put(("artwork", msg.artwork_id))
        elif msg.kind == "clip":
            self.proc.status.received += 1
            name = f"{msg.artwork_id}#{msg.seq}"
            try:
                clip = prepare_clip(msg.array, msg.sample_rate or 16000, self.proc.cfg, msg.artwork_id, "fresh", name)
            except ClipRefused as exc:
                self.proc.status.refused += 1
                log.error("audio: %s", exc)
                return
            self.proc.events.put(("clip", clip))


def run_audio_process(cfg: AudioConfig, ipc: IpcConfig) -> int:
    """`art2mus audio`: the kiosk's audio process until SIGTERM/SIGINT (fade out, exit 0), or until
    its device is lost for good (exit 3, the supervisor restarts it)."""
    proc = AudioProcess(cfg)
    ctx = zmq.Context()
    status = messages.socket(ctx, zmq.PUB, ipc.audio_status, bind=True)

    def publish(snapshot: dict) -> None:
        messages.send(status, messages.Message("status", snapshot.get("artwork"), data={"audio": snapshot}))

    def on_signal(signum, frame):
        log.info("audio: signal %d, fading out", signum)
        proc.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    receiver = Receiver(proc, ipc, ctx)
    receiver.start()
    try:
        return proc.run(publish)
    except Art2MusError as exc:
        log.error("%s", exc)
        return EXIT_DEVICE_LOST
    finally:
        proc.stop.set()
        receiver.join(timeout=2)
        status.close()
        ctx.term()
        log.info("audio: final status %s", proc.snapshot())
