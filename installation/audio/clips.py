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
from installation.outputs import file_mode

log = logging.getLogger(__name__)
MIN_CLIP_SECONDS = 0.05  # shorter is no music, and resampled it can vanish to no samples at all


def check_waveform(wave: np.ndarray, name: str) -> None:
    if wave.ndim != 1 or wave.size == 0:
        raise Art2MusError(f"{name}: expected a non-empty mono waveform, got shape {wave.shape}")
    if not np.all(np.isfinite(wave)):
        raise Art2MusError(f"{name}: waveform has NaN/inf samples; refusing to write it")


def write_wav(path: Path, wave: np.ndarray, sample_rate: int) -> None:
    check_waveform(wave, str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise Art2MusError(f"{path}: cannot write there ({exc.strerror}); choose a writable folder") from None
    os.close(fd)
    try:
        sf.write(tmp, wave.astype(np.float32), sample_rate, subtype="FLOAT", format="WAV")
        os.chmod(tmp, file_mode())  # mkstemp makes it private; a clip is for others to play
        os.replace(tmp, path)
    except (OSError, RuntimeError, sf.LibsndfileError) as exc:
        raise Art2MusError(f"{path}: writing failed ({exc}); check the disk and the folder") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def prepare_clip(wave: np.ndarray, rate: int, cfg: AudioConfig, artwork_id: str | None, source: str, name: str) -> Clip:
    """Checks, resamples to the device rate and normalises loudness. Raises ClipRefused."""
    wave = check_clip(wave, name)
    if wave.size < MIN_CLIP_SECONDS * rate:
        raise ClipRefused(f"clip {name}: {wave.size} samples at {rate} Hz is under {MIN_CLIP_SECONDS:g} s; "
                          "too short to play")
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
    """Playlist clips and ambient clips (AMBIENT/*.wav|flac); broken files are logged by name and skipped.
    A playlists folder with a manifest.json (art2mus precompute) plays the manifest's clips whose
    status is in audio.playlist_statuses (never a rejected one, never an unlisted file, nor a listed
    one whose file a killed precompute never put in place: skipped until a rerun finishes it); one
    without a manifest plays PLAYLISTS/ARTWORK_ID/*.wav|flac."""
    from installation.curator.manifest import MANIFEST, clip_path, read_manifest

    def read(paths, artwork_id, source) -> list[Clip]:
        out = []
        for path in paths:
            try:
                out.append(read_clip_file(path, cfg, artwork_id, source))
            except ClipRefused as exc:
                log.error("%s", exc)
        return out

    def files(folder: Path) -> list[Path]:
        return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".wav", ".flac") and p.is_file()
                      and not p.name.startswith("."))

    def from_manifest(folder: Path) -> dict[str, list[Clip]]:
        try:
            entries = read_manifest(folder)["clips"]
        except Art2MusError as exc:
            log.error("audio.playlists: %s; no playlist clips are played", exc)
            return {}
        chosen: dict[str, list[Path]] = {}
        for e in entries:
            if not isinstance(e, dict) or e.get("status") not in cfg.playlist_statuses or e.get("status") == "rejected":
                continue
            path = clip_path(folder, e)
            if path is None or not isinstance(e.get("artwork_id"), str):
                log.error("audio.playlists: manifest entry %r names no file inside %s; skipped", e.get("id"), folder)
                continue
            if not path.is_file():
                log.warning("audio.playlists: manifest entry %r lists %s, which is not there (a precompute run was "
                            "killed before putting it in place; rerun precompute to finish it); skipped",
                            e.get("id"), path)
                continue
            chosen.setdefault(e["artwork_id"], []).append(path)
        log.info("audio.playlists: %s manifest: %d clip(s) of status %s for %d artwork(s)", folder,
                 sum(map(len, chosen.values())), "/".join(cfg.playlist_statuses), len(chosen))
        return {a: read(paths, a, "playlist") for a, paths in sorted(chosen.items())}

    playlists = {}
    folder = Path(cfg.playlists).expanduser() if cfg.playlists else None
    if folder is not None and (folder / MANIFEST).is_file():
        playlists = from_manifest(folder)
    elif folder is not None and folder.is_dir():
        playlists = {d.name: read(files(d), d.name, "playlist") for d in sorted(folder.iterdir()) if d.is_dir()}
    for key, value in (("playlists", cfg.playlists), ("ambient", cfg.ambient)):
        if value and not Path(value).expanduser().is_dir():  # said, not ignored: the kiosk would just be quieter
            log.warning("audio.%s=%r is not a folder; no %s clips are played (fix the path or set it to null)",
                        key, value, key)
    ambient_dir = Path(cfg.ambient).expanduser() if cfg.ambient else None
    ambient = read(files(ambient_dir), None, "ambient") if ambient_dir and ambient_dir.is_dir() else []
    return Library(playlists, ambient)
