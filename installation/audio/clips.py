"""Clips in and out of the audio process: checked, resampled to the device rate and loudness-
normalised on the way in (from a message or a file); written as 32-bit float mono WAV, atomically,
so a failure never leaves a partial file. Playlists and ambient folders are read here too."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from engines.errors import Art2MusError
from installation.audio.levels import ClipRefused, check_clip, normalize
from installation.audio.mixer import Clip, Library
from installation.config import AudioConfig

log = logging.getLogger(__name__)


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
