"""The generator process: keeps the model loaded, follows the camera's artwork, and keeps the audio
process supplied with fresh clips for it.

- Loads the bundle once and warms it up (one short clip), then waits for artwork events (a
  conflated SUB: only the latest artwork matters).
- On a new artwork: sends its newest clip from the on-disk cache at once (instant music for a
  returning visitor), then generates fresh clips with fresh seeds and the artwork's own settings
  from catalog.yaml, each carrying its provenance (seed, steps, scheduler, guidance, bundle).
- Keeps `generator.ahead_seconds` of fresh audio queued and no more: the audio process's heartbeat
  says how much it still has (`ahead_s`) and which clip it received last; clips sent since then
  are counted as in flight.
- Abandons a clip between denoising steps when its artwork leaves the view (the pipeline's
  cancel check), so the next visitor's clip starts at once.
- Outside opening hours it idles. Its heartbeat carries the real-time factor and stage timings.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import zmq

from engines.errors import Art2MusError
from engines.options import GenerationOptions
from engines.pipeline import Art2MusPipeline, Cancelled
from engines.preprocess import read_image
from installation import messages
from installation.catalog import Catalog, load_catalog
from installation.config import Config
from installation.generator.cache import ClipCache
from installation.generator.model import open_pipeline
from installation.process import ExitCode, ProcessRuntime
from installation.schedule import OpeningHours

log = logging.getLogger(__name__)
IN_FLIGHT_SECONDS = 10.0  # a sent clip the audio process never acknowledged counts this long
CONDITIONS_KEPT = 64  # LOA tokens of recently seen artworks, computed once each
IDLE_POLL_MS = 100


@dataclass
class SentClip:
    clip_id: str
    seconds: float
    sent_at: float


@dataclass
class GeneratorStats:
    clips_generated: int = 0
    clips_cancelled: int = 0
    clips_from_cache: int = 0
    clips_failed: int = 0
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    last_rtf: float | None = None
    last_clip_seconds: float | None = None  # wall time of the last whole clip
    error: str | None = None
    first_clip_s: dict = field(default_factory=dict)  # artwork -> seconds from its event to its first fresh clip

    @property
    def rtf(self) -> float | None:
        return round(self.wall_seconds / self.audio_seconds, 3) if self.audio_seconds else None


class GeneratorProcess:
    def __init__(self, cfg: Config, runtime: ProcessRuntime, pipe: Art2MusPipeline, catalog: Catalog):
        self.cfg, self.runtime, self.pipe, self.catalog = cfg, runtime, pipe, catalog
        m = cfg.model
        self.base = GenerationOptions(m.clip_seconds, m.steps, m.guidance, m.scheduler, origin="config model")
        g = cfg.generator
        self.cache = ClipCache(g.cache_dir / pipe.bundle.fingerprint, int(g.cache_mb * 1e6), g.cache_per_artwork)
        self.hours = OpeningHours.from_config(cfg.schedule)
        self.run_id = uuid.uuid4().hex[:8]
        self.seq = 0
        self.stats = GeneratorStats()
        self.state = "idle"
        self.artwork: str | None = None
        self.artwork_since = 0.0
        self.audio: dict | None = None  # the audio process's last status
        self.sent: list[SentClip] = []
        self.conditions: OrderedDict[str, np.ndarray] = OrderedDict()
        self.fixed_seed = m.seed
        ctx = runtime.ctx
        self.events = messages.socket(ctx, zmq.SUB, cfg.ipc.artwork_events, bind=False, conflate=True)
        self.audio_status = messages.socket(ctx, zmq.SUB, cfg.ipc.audio_status, bind=False, conflate=True)
        self.clips = messages.socket(ctx, zmq.PUSH, cfg.ipc.clips, bind=False, hwm=4)
        self.poller = zmq.Poller()
        self.poller.register(self.events, zmq.POLLIN)
        self.poller.register(self.audio_status, zmq.POLLIN)

    # what the others say ------------------------------------------------------------------------
    def _poll(self, timeout_ms: int = 0) -> None:
        for sock, _ in self.poller.poll(timeout_ms):
            try:
                msg = messages.decode(sock.recv_multipart(copy=False))
            except messages.MessageError as exc:
                log.error("generator: dropped a message: %s", exc)
                continue
            if sock is self.events and msg.kind in ("artwork", "heartbeat"):
                self._follow(msg)  # the camera's heartbeat carries its current artwork too
            elif sock is self.audio_status and msg.kind == "heartbeat" and isinstance(msg.data.get("status"), dict):
                self.audio = msg.data["status"]
                self._acknowledge(self.audio.get("last_clip"))

    def _follow(self, msg: messages.Message) -> None:
        if msg.artwork_id != self.artwork:
            since = messages.finite_float(msg.data.get("since"))
            self.artwork = msg.artwork_id
            self.artwork_since = msg.ts if since is None else since
            self.sent.clear()  # clips in flight were for the artwork before
            log.info("generator: artwork %s", self.artwork)
            if self.artwork is not None:
                self._send_cached(self.artwork)

    def _acknowledge(self, last_clip) -> None:
        ids = [s.clip_id for s in self.sent]
        if last_clip in ids:
            del self.sent[: ids.index(last_clip) + 1]

    def ahead_seconds(self) -> float:
        """Fresh audio for the artwork queued at the audio process, plus clips still on their way."""
        now = time.monotonic()
        self.sent = [s for s in self.sent if now - s.sent_at < IN_FLIGHT_SECONDS]
        queued = 0.0
        if self.audio and self.audio.get("artwork") == self.artwork:
            queued = messages.finite_float(self.audio.get("ahead_s")) or 0.0
        return queued + sum(s.seconds for s in self.sent)

    # clips -------------------------------------------------------------------------------------
    def options_for(self, artwork_id: str) -> GenerationOptions:
        art = self.catalog.artworks[artwork_id]
        return art.info.generation.apply(self.base, artwork_id)

    def _next_seed(self) -> int:
        if self.cfg.model.seed_policy == "fixed":
            self.fixed_seed += 1
            return self.fixed_seed - 1
        return secrets.randbelow(2**31)

    def _condition(self, artwork_id: str) -> np.ndarray:
        loa = self.conditions.get(artwork_id)
        if loa is None:
            image = read_image(self.catalog.artworks[artwork_id].path)
            loa = self.pipe.condition(self.pipe.pixels(image))
            self.conditions[artwork_id] = loa
            while len(self.conditions) > CONDITIONS_KEPT:
                self.conditions.popitem(last=False)
        self.conditions.move_to_end(artwork_id)
        return loa

    def _send(self, artwork_id: str, wave: np.ndarray, provenance: dict, from_cache: bool) -> None:
        self.seq += 1
        clip_id = f"{self.run_id}-{self.seq}"
        data = {"clip_id": clip_id, "from_cache": from_cache, "provenance": provenance}
        msg = messages.Message("clip", artwork_id, seq=self.seq, data=data, array=wave,
                               sample_rate=self.pipe.bundle.audio.sample_rate)
        try:
            self.clips.send_multipart(messages.encode(msg), copy=False, flags=zmq.NOBLOCK)
        except zmq.Again:
            log.warning("generator: the audio process is not taking clips; %s dropped", clip_id)
            return
        self.sent.append(SentClip(clip_id, len(wave) / self.pipe.bundle.audio.sample_rate, time.monotonic()))

    def _send_cached(self, artwork_id: str) -> None:
        cached = self.cache.latest(artwork_id)
        if cached is None or cached.sample_rate != self.pipe.bundle.audio.sample_rate:
            return
        self.stats.clips_from_cache += 1
        log.info("generator: %s from the cache (%s)", artwork_id, cached.path.name)
        self._send(artwork_id, cached.wave, {**cached.provenance, "cached": cached.path.name}, from_cache=True)

    def _cancel_check(self, artwork_id: str):
        def cancelled() -> bool:
            self._poll()
            self._beat()
            return self.runtime.stop.is_set() or self.artwork != artwork_id or not self.hours.open_now()
        return cancelled

    def generate_one(self, artwork_id: str) -> bool:
        """One fresh clip for the artwork, sent and cached; False when it was abandoned or failed."""
        options = self.options_for(artwork_id).with_seed(self._next_seed())
        self.state = "generating"
        start = time.perf_counter()
        try:
            (wave,) = self.pipe.generate_from(self._condition(artwork_id), options, 1, self._cancel_check(artwork_id))
        except Cancelled as exc:
            self.stats.clips_cancelled += 1
            log.info("generator: clip for %s %s (the visitor moved on)", artwork_id, exc)
            return False
        except Art2MusError as exc:
            self.stats.clips_failed += 1
            self.stats.error = str(exc)
            log.error("generator: clip for %s failed: %s", artwork_id, exc)
            return False
        finally:
            self.state = "idle"
        wall = time.perf_counter() - start
        audio_s = len(wave) / self.pipe.bundle.audio.sample_rate
        self.stats.clips_generated += 1
        self.stats.wall_seconds += wall
        self.stats.audio_seconds += audio_s
        self.stats.last_rtf, self.stats.last_clip_seconds = round(wall / audio_s, 3), round(wall, 3)
        provenance = {**options.provenance(), "bundle": self.pipe.bundle.fingerprint, "created": time.time(),
                      "wall_s": round(wall, 3)}
        self._send(artwork_id, wave, provenance, from_cache=False)
        self.stats.first_clip_s.setdefault(artwork_id, round(time.time() - self.artwork_since, 3))
        self.cache.put(artwork_id, wave, self.pipe.bundle.audio.sample_rate, provenance)
        log.info("generator: %s seed %d: %.2f s of audio in %.2f s (rtf %.2f)", artwork_id, options.seed, audio_s,
                 wall, wall / audio_s)
        return True

    # status and loop -----------------------------------------------------------------------------
    def snapshot(self) -> dict:
        t = self.pipe.times
        stage_ms = {s: round(1000 * t.seconds[s] / t.calls[s], 2) for s in t.calls if t.calls[s]}
        s = self.stats
        return {"artwork": self.artwork, "clips_generated": s.clips_generated, "clips_cancelled": s.clips_cancelled,
                "clips_from_cache": s.clips_from_cache, "clips_failed": s.clips_failed, "rtf": s.rtf,
                "last_rtf": s.last_rtf, "last_clip_s": s.last_clip_seconds, "stage_ms": stage_ms,
                "stage_calls": dict(t.calls), "ahead_s": round(self.ahead_seconds(), 2),
                "target_ahead_s": self.cfg.generator.ahead_seconds, "audio_heard": self.audio is not None,
                "bundle": self.pipe.bundle.fingerprint, "providers": {k: e.provider for k, e in self.pipe.engines.items()},
                "cache": self.cache.usage(), "first_clip_s": dict(s.first_clip_s), "error": s.error}

    def _beat(self, force: bool = False) -> None:
        self.runtime.beat(self.state, self.snapshot, self.artwork, force=force)

    def run(self) -> int:
        while not self.runtime.stop.is_set():
            self._poll(IDLE_POLL_MS if self.state != "generating" else 0)
            if not self.hours.open_now():
                self.state = "quiet"
            elif self.artwork is not None and self.artwork in self.catalog.artworks and \
                    self.ahead_seconds() < self.cfg.generator.ahead_seconds:
                self.generate_one(self.artwork)
            else:
                self.state = "idle"
                if self.artwork is not None and self.artwork not in self.catalog.artworks:
                    self.stats.error = f"artwork {self.artwork!r} is not in the generator's catalog"
            self._beat()
        return ExitCode.OK

    def close(self) -> None:
        for sock in (self.events, self.audio_status, self.clips):
            sock.close()


def warm_up(pipe: Art2MusPipeline, base: GenerationOptions) -> float:
    """One short clip so that the first visitor does not pay for lazy initialisation; its seconds."""
    start = time.perf_counter()
    shortest = pipe.bundle.audio.seconds_per_frame * pipe.bundle.dims.vae_scale_factor * 4
    pixels = pipe.pixels(np.full((64, 64, 3), 0.5, np.float32))
    pipe.generate(pixels, base.replace(seconds=round(shortest, 4), steps=2, seed=0, origin="warm-up"))
    return time.perf_counter() - start


def run_generator_process(cfg: Config) -> int:
    """`art2mus generator`: until SIGTERM (exit 0). A bundle or catalog that cannot be used exits
    CONFIG: restarting would not mend it, and the kiosk plays its fallbacks meanwhile."""
    runtime = ProcessRuntime("generator")
    runtime.install_signals()
    runtime.bind_heartbeat(cfg.ipc.generator_status)
    runtime.beat("loading", {"bundle": cfg.model.bundle}, force=True)
    try:
        catalog = load_catalog(cfg.catalog.folder, index=False)
        pipe = open_pipeline(cfg.model)
    except Art2MusError as exc:
        log.error("generator: %s", exc)
        runtime.beat("failed", {"error": str(exc)}, force=True)
        runtime.close(linger_seconds=0.3)
        return ExitCode.CONFIG
    proc = GeneratorProcess(cfg, runtime, pipe, catalog)
    try:
        if cfg.generator.warmup:
            runtime.beat("warming", proc.snapshot, force=True)
            log.info("generator: warmed up in %.2f s", warm_up(pipe, proc.base))
            pipe.times.seconds.clear()
            pipe.times.calls.clear()
        runtime.notifier.notify("READY=1")
        return proc.run()
    finally:
        proc.state = "stopped"
        proc._beat(force=True)
        proc.close()
        runtime.close(linger_seconds=0.2)
