"""A bounded on-disk cache of recent clips per artwork, so the next visit starts at once, even
after a restart. One folder per artwork holding `<time>-<seed>.wav` (16 kHz float mono) with a
`.json` provenance file beside each. Writes are atomic (temp file + rename, audio before its
provenance), a size cap and a per-artwork count evict the oldest clips first, and only files of
this cache's own naming are ever deleted."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

log = logging.getLogger(__name__)
CLIP_NAME = re.compile(r"^\d{19}-\d+\.wav$")  # what this cache writes; nothing else is touched


@dataclass(frozen=True)
class CachedClip:
    artwork_id: str
    path: Path
    wave: np.ndarray
    sample_rate: int
    provenance: dict


def artwork_folder_name(artwork_id: str) -> str:
    """A folder name for any artwork id: the id itself when it is a plain name, else a safe form
    with a hash (two ids never share a folder)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", artwork_id)[:80].lstrip(".")
    if safe == artwork_id:
        return safe
    return f"{safe}-{hashlib.sha256(artwork_id.encode()).hexdigest()[:10]}"


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # a kiosk's other service users may read the cache
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class ClipCache:
    def __init__(self, folder: Path, cap_bytes: int, per_artwork: int):
        self.folder, self.cap_bytes, self.per_artwork = Path(folder), int(cap_bytes), per_artwork
        self.enabled = cap_bytes > 0
        self.errors = 0
        if self.enabled:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                log.error("generator: clip cache %s cannot be made (%s); caching is off", self.folder, exc)
                self.enabled = False

    def _clips(self, artwork_id: str | None = None) -> list[Path]:
        folders = [self.folder / artwork_folder_name(artwork_id)] if artwork_id else \
            [d for d in self.folder.iterdir() if d.is_dir()]
        return sorted((p for d in folders if d.is_dir() for p in d.iterdir() if CLIP_NAME.match(p.name)),
                      key=lambda p: p.name)

    def put(self, artwork_id: str, wave: np.ndarray, sample_rate: int, provenance: dict) -> Path | None:
        if not self.enabled:
            return None
        folder = self.folder / artwork_folder_name(artwork_id)
        path = folder / f"{time.time_ns():019d}-{int(provenance.get('seed') or 0)}.wav"
        try:
            folder.mkdir(exist_ok=True)
            _atomic_write(path, lambda tmp: sf.write(tmp, wave, sample_rate, subtype="FLOAT", format="WAV"))
            meta = {**provenance, "artwork_id": artwork_id}
            _atomic_write(path.with_suffix(".json"), lambda tmp: Path(tmp).write_text(json.dumps(meta)))
        except OSError as exc:  # a full disk must not stop the music: log, count, go on
            self.errors += 1
            log.error("generator: could not cache a clip for %s in %s: %s", artwork_id, folder, exc)
            return None
        self._evict(artwork_id)
        return path

    def latest(self, artwork_id: str) -> CachedClip | None:
        """The newest readable clip of an artwork (a damaged one is skipped)."""
        if not self.enabled:
            return None
        for path in reversed(self._clips(artwork_id)):
            try:
                wave, rate = sf.read(str(path), dtype="float32")
                meta = json.loads(path.with_suffix(".json").read_text())
            except (OSError, RuntimeError, ValueError, sf.LibsndfileError) as exc:
                log.warning("generator: cached clip %s is unreadable (%s); skipped", path, exc)
                continue
            if wave.ndim == 1 and wave.size and np.isfinite(wave).all():
                return CachedClip(artwork_id, path, wave, int(rate), meta if isinstance(meta, dict) else {})
        return None

    def _remove(self, path: Path) -> None:
        for p in (path, path.with_suffix(".json")):
            try:
                p.unlink()
            except FileNotFoundError:
                pass

    def _evict(self, artwork_id: str) -> None:
        for path in self._clips(artwork_id)[: -self.per_artwork]:
            self._remove(path)
        clips = self._clips()
        sizes = {p: p.stat().st_size for p in clips}
        total = sum(sizes.values())
        for path in sorted(clips, key=lambda p: p.name):  # oldest first, across artworks
            if total <= self.cap_bytes:
                break
            total -= sizes[path]
            self._remove(path)

    def usage(self) -> dict:
        if not self.enabled:
            return {"enabled": False}
        clips = self._clips()
        return {"enabled": True, "folder": str(self.folder), "clips": len(clips),
                "mb": round(sum(p.stat().st_size for p in clips) / 1e6, 2), "cap_mb": round(self.cap_bytes / 1e6, 2),
                "errors": self.errors}
