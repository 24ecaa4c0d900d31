"""Level safety: loudness normalisation (ITU-R BS.1770 / EBU R128 via pyloudnorm), clip checks and
the master limiter. Whatever a model emits, a visitor never hears a blast or an accidental silence."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pyloudnorm

from engines.errors import Art2MusError

log = logging.getLogger(__name__)
MIN_LOUDNESS_SECONDS = 0.4  # pyloudnorm's gating block; shorter clips are measured tiled
SILENCE_LUFS = -70.0  # BS.1770's absolute gate
MAX_GAIN_DB = 30.0  # never lift a near-silent clip's noise floor by more
ABSURD_PEAK = 8.0  # +18 dBFS: a broken model, not music


class ClipRefused(Art2MusError):
    """A clip the audio process will not play (non-finite, absurd level, wrong shape)."""


def check_clip(wave: np.ndarray, name: str) -> np.ndarray:
    wave = np.asarray(wave)
    if wave.ndim != 1 or wave.size == 0:
        raise ClipRefused(f"clip {name}: expected mono samples, got shape {wave.shape}")
    if not np.isfinite(wave).all():
        raise ClipRefused(f"clip {name}: {int((~np.isfinite(wave)).sum())} NaN/inf samples; refused")
    peak = float(np.abs(wave).max())
    if peak > ABSURD_PEAK:
        raise ClipRefused(f"clip {name}: peak {peak:.1f} ({20 * np.log10(peak):+.1f} dBFS) is absurd; refused")
    return wave.astype(np.float32)


def loudness(wave: np.ndarray, rate: int) -> float:
    """Integrated loudness in LUFS; -inf for silence. Clips shorter than a gating block are tiled."""
    if wave.size < MIN_LOUDNESS_SECONDS * rate:
        wave = np.tile(wave, int(np.ceil(MIN_LOUDNESS_SECONDS * rate / max(wave.size, 1))) + 1)
    with np.errstate(divide="ignore"):
        return float(pyloudnorm.Meter(rate).integrated_loudness(wave.astype(np.float64)))


def normalize(wave: np.ndarray, rate: int, target_lufs: float, name: str = "clip") -> np.ndarray:
    """Gain to `target_lufs`, at most MAX_GAIN_DB up; silence stays silence."""
    level = loudness(wave, rate)
    if not np.isfinite(level) or level < SILENCE_LUFS:
        log.warning("clip %s is silent (%.1f LUFS); played as it is", name, level)
        return wave
    gain_db = min(target_lufs - level, MAX_GAIN_DB)
    return (wave * np.float32(10 ** (gain_db / 20))).astype(np.float32)


@dataclass
class Limiter:
    """Peak limiter: instant attack, exponential release, and a final clamp so that nothing ever
    leaves above the ceiling."""

    ceiling_db: float = -1.0
    release_seconds: float = 0.25
    rate: int = 48000
    gain: float = 1.0

    @property
    def ceiling(self) -> float:
        return 10 ** (self.ceiling_db / 20)

    def process(self, block: np.ndarray) -> np.ndarray:
        if block.size == 0:
            return block
        peak = float(np.abs(block).max())
        target = min(1.0, self.ceiling / peak) if peak > 0 else 1.0
        if target < self.gain:  # attack at once
            gains = np.full(block.size, target, np.float32)
        else:  # release towards 1 (or the target) over the block
            coef = np.exp(-np.arange(1, block.size + 1) / (self.release_seconds * self.rate))
            gains = (target - (target - self.gain) * coef).astype(np.float32)
        self.gain = float(gains[-1])
        out = block * gains
        return np.clip(out, -self.ceiling, self.ceiling, out=out)
