"""Where the mixed stream goes: a sound device through PortAudio (sounddevice), or a WAV file.

The device callback never waits and never allocates: it copies from a preallocated ring buffer
that the mixer thread keeps seconds ahead, counts underruns, and records how long it took."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from engines.errors import Art2MusError, ConfigError
from installation.config import AudioConfig

log = logging.getLogger(__name__)
STALL_RESYNC_SECONDS = 0.5


class RingBuffer:
    """Single-producer (mixer thread) / single-consumer (callback) float32 ring; no locks needed
    beyond the GIL because each index is written by one side only."""

    def __init__(self, frames: int, channels: int):
        self.data = np.zeros((frames, channels), np.float32)
        self.capacity = frames
        self.written = 0  # total frames ever written (producer)
        self.read = 0  # total frames ever read (consumer)

    @property
    def filled(self) -> int:
        return self.written - self.read

    @property
    def free(self) -> int:
        return self.capacity - self.filled

    def write(self, block: np.ndarray) -> None:
        n = block.shape[0]
        if n > self.free:
            raise ValueError("ring buffer overflow")  # the mixer thread checks free first
        start = self.written % self.capacity
        first = min(n, self.capacity - start)
        self.data[start : start + first] = block[:first]
        self.data[: n - first] = block[first:]
        self.written += n

    def read_into(self, out: np.ndarray) -> int:
        n = min(out.shape[0], self.filled)
        start = self.read % self.capacity
        first = min(n, self.capacity - start)
        out[:first] = self.data[start : start + first]
        out[first:n] = self.data[: n - first]
        self.read += n
        return n


class CallbackStats:
    """Preallocated record of callback durations (the last 8192) and counters."""

    def __init__(self, size: int = 8192):
        self.durations = np.zeros(size, np.float64)
        self.count = 0
        self.underruns = 0
        # Of those, the ones the device or sound server reported while the ring still held audio (a JACK
        # xrun: some client of the graph, this one or another, finished a cycle late; an ALSA underflow: this
        # callback came too late) - the machine's scheduling, not the mixer; the rest are the ring running empty.
        self.xruns = 0
        self.frames = 0
        # The ring's total written frames once the stop fade was all written (None while playing): past
        # it the ring runs empty on purpose until the sink closes, however late a loaded machine gets
        # there, which is not an underrun. Every frame before it that comes late still is one.
        self.last_frame: int | None = None

    def miss(self, read: int, reported: bool = False) -> None:
        """An empty or late block, `read` frames into the ring; `reported` when the device said so."""
        if self.last_frame is None or read < self.last_frame:
            self.underruns += 1
            self.xruns += reported

    def add(self, seconds: float) -> None:
        self.durations[self.count % self.durations.size] = seconds
        self.count += 1

    def worst(self) -> float:
        n = min(self.count, self.durations.size)
        return float(self.durations[:n].max()) if n else 0.0

    def p99(self) -> float:
        n = min(self.count, self.durations.size)
        return float(np.percentile(self.durations[:n], 99)) if n else 0.0


def find_device(name: str) -> int:
    """PortAudio output device index whose name contains `name` (names survive replugs; indexes don't)."""
    import sounddevice as sd

    devices = sd.query_devices()
    outputs = [(i, d["name"]) for i, d in enumerate(devices) if d["max_output_channels"] > 0]
    if name == "default":
        default = sd.default.device[1]
        if default is not None and default >= 0:
            return int(default)
        if outputs:
            return outputs[0][0]
    for i, dev_name in outputs:
        if dev_name == name:
            return i
    for i, dev_name in outputs:
        if name.lower() in dev_name.lower():
            return i
    names = ", ".join(repr(n) for _, n in outputs) or "none"
    raise ConfigError(f"audio.sink={name!r}: no such output device (outputs: {names}); set audio.sink to one of "
                       "them, or to file:PATH.wav on a machine without a sound card")


def rescan_devices() -> None:
    """PortAudio freezes its device list at start; after an unplug, start it again."""
    import sounddevice as sd

    sd._terminate()
    sd._initialize()


class DeviceSink:
    def __init__(self, name: str, rate: int, channels: int, block: int, ring: RingBuffer):
        self.name, self.rate, self.channels, self.block = name, rate, channels, block
        self.ring = ring
        self.stats = CallbackStats()
        self.stream = None
        self.device_name = ""
        self.callback_error: str | None = None

    def open(self) -> None:
        import sounddevice as sd

        index = find_device(self.name)
        self.device_name = sd.query_devices(index)["name"]
        try:
            self.stream = sd.OutputStream(device=index, samplerate=self.rate, channels=self.channels, dtype="float32",
                                          blocksize=self.block, callback=self._callback,
                                          finished_callback=self._finished)
            self.stream.start()
        except sd.PortAudioError as exc:
            raise Art2MusError(f"audio device {self.device_name!r} could not be opened at {self.rate} Hz, "
                               f"{self.channels} channels: {exc}; check audio.sample_rate and audio.channels") from None
        log.info("audio: playing on %r (index %d) at %d Hz, block %d", self.device_name, index, self.rate, self.block)

    def _callback(self, outdata, frames, time_info, status) -> None:
        start = time.perf_counter()
        n = self.ring.read_into(outdata)
        if n < frames:
            outdata[n:] = 0.0
            self.stats.miss(self.ring.read)
        elif status.output_underflow:
            self.stats.miss(self.ring.read - n, reported=True)
        self.stats.frames += frames
        self.stats.add(time.perf_counter() - start)

    def _finished(self) -> None:
        self.callback_error = "stream finished"

    @property
    def alive(self) -> bool:
        return self.stream is not None and self.stream.active

    def close(self) -> None:
        if self.stream is not None:
            try:
                self.stream.abort()
                self.stream.close()
            except Exception as exc:  # a vanished device fails to close; we are dropping it anyway
                log.warning("audio: closing %r failed: %s", self.device_name, exc)
            self.stream = None


class FileSink:
    """Writes the stream to a WAV file; `realtime` paces it like a sound card (demo, kiosk without one)."""

    def __init__(self, path: Path, rate: int, channels: int, block: int, ring: RingBuffer, realtime: bool):
        self.path, self.rate, self.channels, self.block, self.ring = path, rate, channels, block, ring
        self.realtime = realtime
        self.stats = CallbackStats()
        self.device_name = f"file:{path}"
        self._file = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._flushed = 0
        self.callback_error = None

    def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = sf.SoundFile(str(self.path), "w", self.rate, self.channels, subtype="FLOAT", format="WAV")
        except (OSError, RuntimeError, sf.LibsndfileError) as exc:
            raise ConfigError(f"audio.sink=file:{self.path}: cannot write there ({exc}); "
                              "point it at a writable folder") from None
        if self.realtime:
            self._thread = threading.Thread(target=self._paced, name="file-sink", daemon=True)
            self._thread.start()

    def _paced(self) -> None:
        buf = np.zeros((self.block, self.channels), np.float32)
        period, next_t = self.block / self.rate, time.monotonic()
        while not self._stop.is_set():
            self.pull(buf)
            next_t += period
            late = time.monotonic() - next_t
            if late > STALL_RESYNC_SECONDS:  # the process was stopped (SIGSTOP, a swap storm): a sound
                next_t += late              # card's clock would not replay the missed time either
                self.stats.miss(self.ring.read)
            time.sleep(max(0.0, next_t - time.monotonic()))

    def pull(self, buf: np.ndarray) -> None:
        start = time.perf_counter()
        n = self.ring.read_into(buf)
        if n < buf.shape[0]:
            buf[n:] = 0.0
            self.stats.miss(self.ring.read)
        self._file.write(buf)
        self.stats.frames += buf.shape[0]
        if self.stats.frames - self._flushed >= self.rate:  # once a second: the header then says what was
            self._file.flush()                               # written, even after a kill -9
            self._flushed = self.stats.frames
        self.stats.add(time.perf_counter() - start)

    @property
    def alive(self) -> bool:
        return self._file is not None

    def close(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        if self._file is not None:
            self._file.close()
            self._file = None


def make_sink(cfg: AudioConfig, ring: RingBuffer, realtime: bool | None = None):
    if cfg.sink.startswith("file:"):
        path = Path(cfg.sink[5:])
        if path.suffix.lower() != ".wav":
            raise Art2MusError(f"audio.sink={cfg.sink!r}: a file sink must end in .wav")
        return FileSink(path, cfg.sample_rate, cfg.channels, cfg.block, ring,
                        cfg.file_realtime if realtime is None else realtime)
    return DeviceSink(cfg.sink, cfg.sample_rate, cfg.channels, cfg.block, ring)
