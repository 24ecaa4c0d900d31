"""The artwork catalog: a folder of images, each file's stem the artwork id, with an optional
catalog.yaml (title, artist, year, per-artwork generation settings). Recognition features are
computed once and cached beside the catalog in .art2mus-index/, one file per artwork, rebuilt
only for images whose size or modification time changed. A broken image is reported by name and
the others are still indexed. The catalog's recogniser (recognizer_for) learns which of its works pass
for another (recognition/lookalikes.py), cached there too as one file for the whole catalog."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal, Optional

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engines.errors import Art2MusError
from engines.options import GenerationOptions
from engines.preprocess import read_bgr
from installation.config import read_yaml
from installation.recognition import (FEATURE_VERSION, ArtworkFeatures, Recognizer, RecognizerSettings,
                                      compute_features, lookalikes)
from installation.recognition.embedding import Embedder
from installation.recognition.features import read_npz

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp"}
INDEX_DIR = ".art2mus-index"
LOOKALIKES_FILE = "lookalikes.npz"
MAX_PAIRS = 1000  # a look-alike frame compares a few places with a few works each: dozens of pairs
STALE_SECONDS = 600.0  # a temporary cache file this old was left by a writer that was killed (a start timeout)
PROGRESS_SECONDS = 10.0  # the look-alikes learnt so far are saved this often (a camera stopped mid-way resumes)


class GenerationOverrides(BaseModel):
    """Per-artwork overrides of the model settings; checked again as GenerationOptions when applied."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    steps: Optional[int] = Field(None, ge=1, le=999)
    guidance: Optional[float] = Field(None, ge=1.0, le=20.0, allow_inf_nan=False)
    clip_seconds: Optional[float] = Field(None, gt=0, le=60, allow_inf_nan=False)
    scheduler: Optional[Literal["dpm", "ddim"]] = None

    def apply(self, options: GenerationOptions, artwork_id: str) -> GenerationOptions:
        changes = {k: v for k, v in (("steps", self.steps), ("guidance", self.guidance),
                                     ("seconds", self.clip_seconds), ("scheduler", self.scheduler)) if v is not None}
        return options.replace(origin=f"catalog.yaml artwork {artwork_id!r}", **changes) if changes else options


class ArtworkInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    title: Optional[str] = None
    artist: Optional[str] = None
    year: Optional[int | str] = None
    generation: GenerationOverrides = GenerationOverrides()  # per-artwork overrides of model settings


@dataclass(frozen=True)
class Artwork:
    id: str
    path: Path
    info: ArtworkInfo


@dataclass
class Catalog:
    folder: Path
    artworks: dict[str, Artwork] = field(default_factory=dict)
    features: dict[str, ArtworkFeatures] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    rebuilt: int = 0
    # Each indexed image's size and modification time when it was indexed (what its features are of): the
    # look-alikes' cache key, so that an image replaced after indexing is learnt again on the next start.
    stamps: dict[str, tuple[int, int]] = field(default_factory=dict)


def _read_info(folder: Path) -> dict[str, ArtworkInfo]:
    path = folder / "catalog.yaml"
    if not path.is_file():
        return {}
    data = read_yaml(path, str(path)) or {}
    works = data.get("artworks", {}) if isinstance(data, dict) else None
    if not isinstance(works, dict):
        raise Art2MusError(f"{path}: expected 'artworks:' mapping artwork ids to title/artist/year/generation")
    info = {}
    for k, v in works.items():
        try:
            info[str(k)] = ArtworkInfo.model_validate(v or {})
        except ValidationError as exc:
            e = exc.errors()[0]
            raise Art2MusError(f"{path}: artwork {str(k)!r}: {'.'.join(map(str, e['loc']))}: {e['msg']} "
                               f"(value {e.get('input')!r})") from None
    return info


def _cached(index: Path, art: Artwork, st: os.stat_result) -> ArtworkFeatures | None:
    """The work's cached features, if they are of its image as it is now (`st`: its stat)."""
    path = index / f"{art.id}.npz"
    if not path.is_file():
        return None
    z = read_npz(path)
    try:
        if z is None or (int(z["version"]) != FEATURE_VERSION or int(z["size"]) != st.st_size
                         or int(z["mtime_ns"]) != st.st_mtime_ns):
            return None
        return ArtworkFeatures.from_arrays(z)
    except (ValueError, KeyError, TypeError):
        return None  # a damaged cache file is just rebuilt


def _write_npz(path: Path, then: str, **arrays) -> bool:
    """Writes a cache file whole or not at all (a temporary file of this process's, then renamed: the camera and
    doctor may write at once); False, logged with what happens `then`, when it cannot be written."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    try:
        np.savez(tmp, **arrays)
        tmp.replace(path)
        return True
    except OSError as exc:
        log.warning("catalog: the cache %s cannot be written (%s); %s", path, exc.strerror or exc, then)
        try:
            tmp.unlink()
        except OSError:
            pass
        return False


def _store(index: Path, art: Artwork, feats: ArtworkFeatures, st: os.stat_result) -> bool:
    """Caches one work's features, of its image as `st` (its stat before it was read) found it; False when the
    index cannot be written (logged)."""
    return _write_npz(index / f"{art.id}.npz", "the catalog is indexed in memory each time it is loaded",
                      version=FEATURE_VERSION, size=st.st_size, mtime_ns=st.st_mtime_ns, **feats.arrays())


def _remove_stale(index: Path) -> None:
    """Removes the temporary files (ours: `.NAME.PID.tmp.npz`) that a writer killed mid-save left in the index,
    once no writer can still be at them."""
    now = time.time()
    for tmp in index.glob(".*.*.tmp.npz"):
        try:
            if tmp.is_file() and not tmp.is_symlink() and now - tmp.stat().st_mtime > STALE_SECONDS:
                tmp.unlink()
                log.info("catalog: removed %s, left by a writer that was stopped", tmp)
        except OSError:
            pass  # another process removed it, or the index is read-only: harmless


def load_catalog(folder: str | Path, index: bool = True) -> Catalog:
    """`index=False`: the images and catalog.yaml only, no recognition features (the generator)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise Art2MusError(f"catalog folder {str(folder)!r} is a file, not a folder; set catalog.folder to the folder "
                           "of artwork images")
    if not folder.is_dir():
        raise Art2MusError(f"catalog folder {str(folder)!r} does not exist; set catalog.folder to a folder of artwork images")
    info = _read_info(folder)
    cat = Catalog(folder)
    index_dir = folder / INDEX_DIR if index else None
    try:
        if index_dir:
            index_dir.mkdir(exist_ok=True)
    except OSError:
        index_dir = None  # a read-only catalog still works, it is just indexed every time
    if index_dir:
        _remove_stale(index_dir)
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()):
        art = Artwork(path.stem, path, info.get(path.stem, ArtworkInfo()))
        if art.id in cat.artworks:
            cat.errors.append(f"{path}: another image already has the id {art.id!r} ({cat.artworks[art.id].path.name}); "
                              "rename one of them")
            continue
        if not index:
            cat.artworks[art.id] = art
            continue
        try:
            st = path.stat()
        except OSError:
            st = None  # gone since the folder was listed: read_bgr below says so
        feats = _cached(index_dir, art, st) if index_dir and st else None
        if feats is None:
            try:
                image = read_bgr(path, cv2.IMREAD_COLOR)
            except Art2MusError as exc:
                cat.errors.append(str(exc))
                continue
            feats = compute_features(image)
            cat.rebuilt += 1
            if index_dir and st and not _store(index_dir, art, feats, st):
                index_dir = None  # not writable after all (a read-only catalog): indexed in memory from now on
        cat.artworks[art.id] = art
        cat.features[art.id] = feats
        if st:
            cat.stamps[art.id] = (st.st_size, st.st_mtime_ns)
    for e in cat.errors:
        log.error("catalog: %s", e)
    unknown = sorted(set(info) - set(cat.artworks))
    if unknown:
        log.warning("catalog.yaml names artworks without an image: %s", ", ".join(unknown))
    log.info("catalog %s: %d artworks (%d indexed now, %d from cache), %d errors", folder, len(cat.artworks),
             cat.rebuilt, len(cat.artworks) - cat.rebuilt, len(cat.errors))
    return cat


def _lookalikes_key(catalog: Catalog, settings: RecognizerSettings) -> str | None:
    """What the catalog's look-alikes depend on: each indexed image (id, size and modification time when it was
    indexed), the recognition code, network and prior (an update changes what a frame's pairs measure) and the
    settings."""
    h = hashlib.sha256(repr(settings).encode())
    code = Path(lookalikes.__file__).parent
    for path in sorted(p for p in code.iterdir() if p.suffix in (".py", ".onnx", ".npz")):
        h.update(path.name.encode() + path.read_bytes())
    for wid in catalog.features:
        if wid not in catalog.stamps:  # its image could not be looked at when indexed: learnt without a cache
            return None
        size, mtime_ns = catalog.stamps[wid]
        h.update(f"{wid}\0{size}\0{mtime_ns}\0".encode())
    return h.hexdigest()


def _cached_lookalikes(path: Path, key: str, works: int) -> list[lookalikes.WorkLookalikes]:
    """What each work's look-alike frame taught, learnt so far for `key`, in catalog order (all of them, or those
    learnt before the camera was stopped); none when the file is missing, damaged or for another key."""
    z = read_npz(path)
    if z is None or set(z) != {"key", "rows", "counts", "copies"} or z["key"].shape != () or str(z["key"]) != key:
        return []  # missing, damaged or another catalog's: learnt again
    rows, counts, copies = z["rows"], z["counts"], z["copies"]
    if (rows.dtype.kind != "f" or rows.ndim != 2 or rows.shape[1] != len(lookalikes.FEATURES)
            or not (np.abs(rows) <= lookalikes.MAX_MEASURED).all() or counts.dtype.kind not in "iu"
            or counts.ndim != 1 or len(counts) > works or (counts < 0).any() or (counts > MAX_PAIRS).any()
            or counts.sum() != len(rows) or copies.dtype.kind != "U" or copies.shape != counts.shape):
        return []
    per_work = np.split(np.float64(rows), np.cumsum(counts)[:-1]) if len(counts) else []
    return [lookalikes.WorkLookalikes(r, tuple(c.split("\t")) if c else ()) for r, c in zip(per_work, copies)]


def _store_lookalikes(path: Path, key: str, per_work: list[lookalikes.WorkLookalikes]) -> bool:
    return _write_npz(path, "the catalog's look-alikes are learnt again each time it is loaded", key=key,
                      rows=np.concatenate([w.rows for w in per_work]), counts=np.int64([len(w.rows) for w in per_work]),
                      copies=np.array(["\t".join(w.copies) for w in per_work], dtype=str))


def _image(catalog: Catalog, wid: str) -> np.ndarray | None:
    try:
        return read_bgr(catalog.artworks[wid].path, cv2.IMREAD_COLOR)
    except Art2MusError as exc:  # indexed, then replaced by something unreadable
        log.error("catalog: %s; its look-alikes are not learnt", exc)
        return None


def _learnt(catalog: Catalog, recognizer: Recognizer, path: Path | None, key: str | None,
            progress: Callable[[int, int], None] | None = None) -> list[lookalikes.WorkLookalikes]:
    """What each work's look-alike frame taught, from the cache where it has it; what is learnt is saved every
    PROGRESS_SECONDS and when `progress` (called after each work with the works done and all) raises, so that a
    camera stopped mid-way resumes."""
    ids = list(catalog.features)
    if not ids:
        return []
    done = _cached_lookalikes(path, key, len(ids)) if path and key else []
    if len(done) == len(ids):
        log.info("recognition: the catalog's look-alikes from the cache %s", path)
        return done
    log.info("recognition: learning the catalog's look-alikes (%d of %d works to go, about %.0f s; cached after)",
             len(ids) - len(done), len(ids), 0.05 * (len(ids) - len(done)))
    start = saved = time.monotonic()
    try:
        for wid in ids[len(done):]:
            image = _image(catalog, wid)
            done.append(lookalikes.WorkLookalikes(np.zeros((0, len(lookalikes.FEATURES)))) if image is None else
                        lookalikes.work_lookalikes(recognizer, wid, image))
            if path and key and time.monotonic() - saved >= PROGRESS_SECONDS and len(done) < len(ids):
                if not _store_lookalikes(path, key, done):
                    path = None  # not writable (logged once): learnt in memory
                saved = time.monotonic()
                log.info("recognition: look-alikes of %d of %d works learnt", len(done), len(ids))
            if progress:
                progress(len(done), len(ids))
    finally:
        if path and key and done:
            _store_lookalikes(path, key, done)  # all of them, or what a camera asked to stop had learnt
    log.info("recognition: look-alikes learnt in %.1f s", time.monotonic() - start)
    return done


def recognizer_for(catalog: Catalog, settings: RecognizerSettings | None = None, embedder: Embedder | None = None,
                   learn: bool = True, progress: Callable[[int, int], None] | None = None) -> Recognizer:
    """The catalog's recogniser, as the camera builds it: its verifier refitted on the catalog's own
    look-alikes (recognition/lookalikes.py; `learn=False`: the shipped verifier, a benchmark's comparison).
    The look-alikes are cached in the index and learnt again when an image, the recognition code or the
    settings change (about 0.05 s a work; `progress(done, works)` after each, which may raise to stop).
    Art2MusError when the shipped prior cannot be used."""
    settings = settings or RecognizerSettings()
    recognizer = Recognizer(catalog.features, settings, embedder)
    if not learn:
        return recognizer
    try:
        prior = lookalikes.Prior.load(settings.verifier)
    except ValueError as exc:
        raise Art2MusError(str(exc)) from None
    index = catalog.folder / INDEX_DIR
    key = _lookalikes_key(catalog, settings) if embedder is None else None  # another network: not cached
    path = index / LOOKALIKES_FILE if index.is_dir() else None
    per_work = _learnt(catalog, recognizer, path, key, progress)
    found = lookalikes.Lookalikes.of(per_work, list(catalog.features))
    recognizer.learn(found, prior)
    if found.copies:
        log.warning("recognition: %d pairs of catalog images show the same picture, which the camera cannot tell "
                    "apart (the one it names is either): %s; keep one image of each pair", len(found.copies),
                    ", ".join(f"{a} = {b}" for a, b in found.copies))
    log.info("recognition: verifier refitted on the catalog's look-alikes (%s)", found.summary())
    return recognizer
