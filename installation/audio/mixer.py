"""The mixer: a pure, single-threaded state machine that turns clips and artwork changes into a
continuous block stream. No I/O, no clocks: `render(n)` is the only way time moves, so it is
tested as a function and driven by the audio process's mixer thread.

Sources, best first (the fallback chain): a fresh clip for the artwork in view, a playlist clip
for it, the last clip it played (cached), ambient; silence once the gallery has been idle for
`idle_silence_after` seconds. Equal-power (sin/cos) crossfades: `crossfade` between clips of one
artwork, `change_crossfade` when the artwork changes, `leave_fade` when the visitor leaves.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from installation.audio.levels import Limiter
from installation.config import AudioConfig

log = logging.getLogger(__name__)
CLICK_FREE = 0.05  # seconds: the shortest ramp, for starts and stops that no crossfade covers
CACHED_ARTWORKS = 32
PENDING_CLIPS = 8  # queued clips per artwork; the generator keeps fewer than this ahead


@dataclass(frozen=True)
class Clip:
    samples: np.ndarray  # float32 mono at the mixer's rate, loudness-normalised
    artwork_id: Optional[str]
    source: str  # fresh | playlist | cached | ambient
    name: str


class Voice:
    """One clip being played, with its fade-in and (once decided) fade-out ramps."""

    def __init__(self, clip: Clip, fade_in: int):
        self.clip, self.pos = clip, 0
        self.fade_in = max(1, fade_in)
        self.fade_out_at: int | None = None
        self.fade_out_len = 1
        self._out_from = 1.0

    @property
    def remaining(self) -> int:
        end = len(self.clip.samples)
        if self.fade_out_at is not None:
            end = min(end, self.fade_out_at + self.fade_out_len)
        return max(0, end - self.pos)

    @property
    def fading_out(self) -> bool:
        return self.fade_out_at is not None

    def fade_out(self, frames: int) -> None:
        frames = max(1, min(frames, len(self.clip.samples) - self.pos))
        if self.fade_out_at is None or self.pos + frames < self.fade_out_at + self.fade_out_len:
            # A shorter new fade continues from the level the old one had reached: no jump.
            self._out_from = float(self._out_gains(np.array([self.pos]))[0])
            self.fade_out_at, self.fade_out_len = self.pos, frames

    def _out_gains(self, idx: np.ndarray) -> np.ndarray:
        if self.fade_out_at is None:
            return np.ones(idx.size)
        t = np.clip((idx - self.fade_out_at) / self.fade_out_len, 0.0, 1.0)
        return self._out_from * np.cos(0.5 * np.pi * t)

    def _gains(self, idx: np.ndarray) -> np.ndarray:
        fade_in = np.sin(0.5 * np.pi * np.clip(idx / self.fade_in, 0.0, 1.0))
        return (fade_in * self._out_gains(idx)).astype(np.float32)

    def render(self, n: int) -> np.ndarray:
        k = min(n, self.remaining)
        idx = np.arange(self.pos, self.pos + k)
        out = self.clip.samples[self.pos : self.pos + k] * self._gains(idx)
        self.pos += k
        return out


@dataclass
class MixerSettings:
    rate: int = 48000
    crossfade: float = 3.0
    change_crossfade: float = 1.0
    leave_fade: float = 2.0
    idle_silence_after: float = 300.0
    limiter_ceiling_db: float = -1.0
    replay_cached: bool = True  # a kiosk replays an artwork's last clip when nothing fresher exists

    @classmethod
    def from_config(cls, cfg: AudioConfig, **overrides) -> MixerSettings:
        base = dict(rate=cfg.sample_rate, crossfade=cfg.crossfade_seconds, change_crossfade=cfg.change_crossfade_seconds,
                    leave_fade=cfg.leave_fade_seconds, idle_silence_after=cfg.idle_silence_after_seconds,
                    limiter_ceiling_db=cfg.limiter_ceiling_db)
        return cls(**{**base, **overrides})


class Library:
    """Playlist and ambient clips (already at the mixer's rate), rotated in order."""

    def __init__(self, playlists: dict[str, list[Clip]] | None = None, ambient: list[Clip] | None = None):
        self.playlists = {k: deque(v) for k, v in (playlists or {}).items() if v}
        self.ambient_clips = deque(ambient or [])

    def _rotate(self, clips: deque) -> Clip | None:
        if not clips:
            return None
        clips.rotate(-1)
        return clips[-1]

    def playlist(self, artwork_id: str) -> Clip | None:
        return self._rotate(self.playlists.get(artwork_id, deque()))

    def ambient(self) -> Clip | None:
        return self._rotate(self.ambient_clips)


@dataclass
class MixerStats:
    started: dict = field(default_factory=lambda: {"fresh": 0, "playlist": 0, "cached": 0, "ambient": 0})
    silences: int = 0
    crossfades: int = 0  # a new clip faded in over one fading out
    artwork_switches: int = 0


class Mixer:
    def __init__(self, settings: MixerSettings, library: Library | None = None):
        self.s = settings
        self.library = library or Library()
        self.limiter = Limiter(settings.limiter_ceiling_db, rate=settings.rate)
        self.artwork: str | None = None
        self.voices: list[Voice] = []
        self.pending: dict[str, deque[Clip]] = {}
        self.cached: OrderedDict[str, Clip] = OrderedDict()
        self.idle_frames = 0
        self.stopping = False
        self.quiet = False
        self.stats = MixerStats()
        self.on_start: Callable[[Clip], None] | None = None

    def frames(self, seconds: float) -> int:
        return max(1, int(round(seconds * self.s.rate)))

    @property
    def current(self) -> Voice | None:
        return self.voices[-1] if self.voices else None

    # events -----------------------------------------------------------------------------------
    def set_artwork(self, artwork_id: str | None) -> None:
        if artwork_id == self.artwork:
            return
        leaving = artwork_id is None
        self.artwork, self.idle_frames = artwork_id, 0
        self.stats.artwork_switches += 1
        self._switch(self.frames(self.s.leave_fade if leaving else self.s.change_crossfade))

    def add_clip(self, clip: Clip) -> None:
        if clip.artwork_id != self.artwork:
            self._cache(clip)  # for when the visitor comes back
            return
        self.pending.setdefault(clip.artwork_id, deque(maxlen=PENDING_CLIPS)).append(clip)
        cur = self.current
        idle = cur is None or cur.fading_out or cur.clip.artwork_id != self.artwork
        if idle or (clip.source == "fresh" and cur.clip.source != "fresh"):
            self._switch(self.frames(self.s.crossfade))  # a fresh clip replaces a fallback soon

    def stop(self, seconds: float) -> None:
        """Fade everything out (SIGTERM); no new source starts afterwards."""
        self.stopping = True
        for v in self.voices:
            v.fade_out(self.frames(seconds))

    def set_quiet(self, quiet: bool) -> None:
        """Quiet (outside opening hours): nothing new starts, not even ambient; what plays fades out."""
        self.quiet = quiet
        if quiet:
            for v in self.voices:
                v.fade_out(self.frames(self.s.leave_fade))

    @property
    def silent(self) -> bool:
        return not self.voices

    def ahead_seconds(self) -> float:
        """Seconds of fresh audio for the artwork in view still to play (what the generator tops up)."""
        if self.artwork is None:
            return 0.0
        frames = sum(len(c.samples) for c in self.pending.get(self.artwork, ()))
        frames += sum(v.remaining for v in self.voices
                      if v.clip.artwork_id == self.artwork and v.clip.source == "fresh" and not v.fading_out)
        return frames / self.s.rate

    # sources ----------------------------------------------------------------------------------
    def _cache(self, clip: Clip) -> None:
        if clip.artwork_id is None:
            return
        self.cached[clip.artwork_id] = Clip(clip.samples, clip.artwork_id, "cached", clip.name)
        self.cached.move_to_end(clip.artwork_id)
        while len(self.cached) > CACHED_ARTWORKS:
            self.cached.popitem(last=False)

    def _next_clip(self) -> Clip | None:
        if self.quiet:
            return None
        a = self.artwork
        if a is not None:
            queue = self.pending.get(a)
            if queue:
                clip = queue.popleft()
                self._cache(clip)
                return clip
            clip = self.library.playlist(a) or (self.cached.get(a) if self.s.replay_cached else None)
            if clip is not None:
                return clip
        if a is None and self.idle_frames >= self.frames(self.s.idle_silence_after):
            return None
        return self.library.ambient()

    def _start(self, clip: Clip, fade_in: int) -> None:
        self.voices.append(Voice(clip, fade_in))
        self.stats.started[clip.source] += 1
        log.debug("mixer: %s clip %s for %s", clip.source, clip.name, clip.artwork_id)
        if self.on_start:
            self.on_start(clip)

    def _switch(self, fade: int) -> None:
        """Crossfade from whatever plays to the best source now (or fade to silence)."""
        if self.stopping:
            return
        nxt = self._next_clip()
        for v in self.voices:
            v.fade_out(fade)
        if nxt is not None:
            if self.voices:
                self.stats.crossfades += 1
            self._start(nxt, fade if self.voices else self.frames(CLICK_FREE))
        else:
            self.stats.silences += 1

    # rendering --------------------------------------------------------------------------------
    def _advance_sources(self, n: int) -> None:
        cur = self.current
        if self.stopping:
            return
        if cur is None:
            nxt = self._next_clip()
            if nxt is not None:
                self._start(nxt, self.frames(CLICK_FREE))
            return
        xfade = min(self.frames(self.s.crossfade), len(cur.clip.samples) // 2)  # short clips: half their length
        if not cur.fading_out and cur.remaining <= xfade + n:
            self._switch(min(xfade, cur.remaining))

    def render(self, n: int) -> np.ndarray:
        """The next `n` mono frames, limited to the ceiling."""
        if self.artwork is None:
            self.idle_frames += n
        self._advance_sources(n)
        out = np.zeros(n, np.float32)
        for v in self.voices:
            block = v.render(n)
            out[: block.size] += block
        self.voices = [v for v in self.voices if v.remaining > 0]
        return self.limiter.process(out)
