"""Clip files: 32-bit float mono WAV, written atomically so a failure never leaves a partial file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from engines.errors import Art2MusError


def check_waveform(wave: np.ndarray, name: str) -> None:
    if wave.ndim != 1 or wave.size == 0:
        raise Art2MusError(f"{name}: expected a non-empty mono waveform, got shape {wave.shape}")
    if not np.all(np.isfinite(wave)):
        raise Art2MusError(f"{name}: waveform has NaN/inf samples; refusing to write it")


def write_wav(path: Path, wave: np.ndarray, sample_rate: int) -> None:
    check_waveform(wave, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        sf.write(tmp, wave.astype(np.float32), sample_rate, subtype="FLOAT", format="WAV")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
