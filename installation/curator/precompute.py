"""Precomputed playlists: N clips per catalog artwork into OUT/ARTWORK_ID/*.flac + OUT/manifest.json.

Clip k of artwork a is one job with one seed (seed_base + k), so a rerun knows what is done: jobs
already in the manifest are never redone, a larger --clips adds only the missing ones, and a run
killed at any point (kill -9 included) loses at most the clip it was making and never leaves an
unlisted clip file: a clip is fsynced to a temp file, listed, then renamed into place, and a clip
listed but not yet renamed when the kill fell is finished by the next run (see manifest.py). A
catalog image that cannot be read, or per-artwork settings the bundle cannot make, fail that
artwork with a message naming it; the others go on.

The work is split the same way locally and on Ray (cluster.py): a ClipMaker holds a loaded
pipeline and turns (artwork, image bytes, options) into a waveform, conditioning each artwork once;
the driver alone writes files and the manifest (PlaylistWriter)."""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import soundfile as sf

from engines.errors import Art2MusError
from engines.options import MAX_SEED, GenerationOptions
from engines.preprocess import to_rgb_float
from installation.audio.levels import loudness
from installation.catalog import Catalog
from installation.curator import manifest as mf

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    artwork_id: str
    index: int | None  # the precompute job number; None for a clip regenerated in review
    options: GenerationOptions  # with its seed

    @property
    def seed(self) -> int:
        return self.options.seed


@dataclass(frozen=True)
class ArtworkWork:
    """One artwork's missing jobs: the unit of work a worker takes."""

    artwork_id: str
    image: Path
    jobs: tuple[Job, ...]


@dataclass
class Plan:
    works: list[ArtworkWork] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # artwork id -> why it cannot be made
    done: int = 0  # jobs already in the manifest

    @property
    def jobs(self) -> int:
        return sum(len(w.jobs) for w in self.works)


@dataclass
class Summary:
    made: int = 0
    already: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0  # the whole run
    generate_seconds: float = 0.0  # from the model loaded to the last clip written

    @property
    def clips_per_second(self) -> float:
        return self.made / self.generate_seconds if self.generate_seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        return not self.failures


def plan_jobs(catalog: Catalog, manifest: dict, clips: int, seed_base: int, base: GenerationOptions) -> Plan:
    """The missing jobs of every artwork: k in range(clips) not yet in the manifest for it."""
    if clips < 1:
        raise Art2MusError(f"--clips {clips!r} must be >= 1")
    if not 0 <= seed_base or seed_base + clips - 1 > MAX_SEED:
        raise Art2MusError(f"--seed-base {seed_base!r}: seeds seed_base .. seed_base+clips-1 must lie in 0..{MAX_SEED}")
    have: dict[str, dict[int, dict]] = {}
    for e in manifest["clips"]:
        if isinstance(e.get("index"), int):
            have.setdefault(e.get("artwork_id"), {})[e["index"]] = e
    out = Plan()
    for art in catalog.artworks.values():
        if art.id.startswith(".") or art.id in (mf.MANIFEST, mf.LOCK):
            out.failures[art.id] = (f"catalog image {str(art.path)!r}: the artwork id {art.id!r} cannot name a "
                                    "playlist folder (it would clash with the manifest or be hidden); rename the image")
            continue
        try:
            options = art.info.generation.apply(base, art.id)
        except Art2MusError as exc:
            out.failures[art.id] = str(exc)
            continue
        done = have.get(art.id, {})
        out.done += sum(1 for k in done if k < clips)
        jobs = tuple(Job(art.id, k, options.with_seed(seed_base + k)) for k in range(clips) if k not in done)
        if jobs:
            out.works.append(ArtworkWork(art.id, art.path, jobs))
    return out


def decode_image(data: bytes, name: str) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if image is None:
        raise Art2MusError(f"catalog image {name!r} is not an image OpenCV can read (empty, corrupt or another kind "
                           "of file); replace it with a JPEG, PNG, TIFF, BMP or WebP file, or remove it")
    return to_rgb_float(image, name)


class ClipMaker:
    """A loaded pipeline that makes one clip at a time, conditioning each artwork once."""

    def __init__(self, pipe):
        self.pipe = pipe
        self._condition: tuple[str, np.ndarray] | None = None

    def info(self) -> dict:
        return {"bundle": self.pipe.bundle.fingerprint, "sample_rate": self.pipe.bundle.audio.sample_rate}

    def clip(self, artwork_id: str, image: bytes, name: str, options: GenerationOptions) -> np.ndarray:
        self.pipe.clip_shape(options.seconds)  # a length the bundle cannot make fails before any stage runs
        if self._condition is None or self._condition[0] != artwork_id:
            self._condition = None
            self._condition = (artwork_id, self.pipe.condition(self.pipe.pixels(decode_image(image, name))))
        (wave,) = self.pipe.generate_from(self._condition[1], options, 1)
        return wave


def read_image_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise Art2MusError(f"catalog image {str(path)!r} cannot be read ({exc.strerror})") from None


PEAK = 0.999  # FLAC holds samples in [-1, 1): a louder clip is scaled down (its gain is recorded)


class PlaylistWriter:
    """The driver's side: each finished clip becomes a FLAC file and a manifest entry at once."""

    def __init__(self, out: Path, bundle: str, sample_rate: int, origin: str = "precompute"):
        self.out, self.bundle, self.sample_rate, self.origin = Path(out), bundle, sample_rate, origin

    def add(self, job: Job, wave: np.ndarray, worker: str | None = None, status: str = "new") -> dict | None:
        """Writes the clip and lists it; None when the job was listed meanwhile (another run)."""
        wave = np.asarray(wave, np.float32)
        if wave.ndim != 1 or wave.size == 0 or not np.isfinite(wave).all():
            raise Art2MusError(f"artwork {job.artwork_id!r} seed {job.seed}: the model returned a broken waveform")
        peak = float(np.abs(wave).max())
        gain = min(1.0, PEAK / peak) if peak > 0 else 1.0
        wave = wave * np.float32(gain)
        folder = self.out / job.artwork_id
        folder.mkdir(parents=True, exist_ok=True)
        level = loudness(wave, self.sample_rate)
        o = job.options
        entry = {
            "id": mf.new_clip_id(), "artwork_id": job.artwork_id,
            "file": f"{job.artwork_id}/{mf.clip_name(job.index, job.seed)}", "index": job.index,
            "seed": job.seed, "steps": o.steps, "scheduler": o.scheduler, "guidance": o.guidance,
            "seconds": o.seconds, "sample_rate": self.sample_rate, "bundle": self.bundle,
            "loudness_lufs": round(level, 2) if np.isfinite(level) else None,
            "gain_db": round(20 * float(np.log10(gain)), 2), "status": status, "origin": self.origin,
            "worker": worker or f"{socket.gethostname()}:{os.getpid()}", "created": mf.now(),
        }
        tmp = mf.temp_path(folder, ".flac", tag=entry["id"])  # named for its entry: a rerun can finish it
        try:
            sf.write(tmp, wave, self.sample_rate, format="FLAC", subtype="PCM_24")
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            # Whole on disk, then listed, then renamed into place, in one locked step: there is never a
            # finished clip file the manifest does not list. A kill -9 between the manifest write and
            # the rename leaves a listed clip without its file: readers skip it (mf.clip_file) and the
            # next run renames its complete temp file into place (prepare_folder).
            with mf.locked(self.out):
                data = mf.read_manifest(self.out)
                if job.index is not None and any(e.get("artwork_id") == job.artwork_id and e.get("index") == job.index
                                                 for e in data["clips"]):
                    return None  # another run made this job meanwhile
                data["clips"].append(entry)
                mf.write_manifest(self.out, data)
                os.replace(tmp, self.out / entry["file"])
                mf.fsync_dir(folder)
            return entry
        finally:
            if tmp.exists():
                tmp.unlink()


def prepare_folder(out: Path) -> dict:
    """Finishes what a killed run left (a listed clip's complete temp file is renamed into place),
    drops entries whose file is gone (their precompute jobs are made again, with the same seed),
    removes leftovers of our naming (mf.clean) and returns the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    with mf.locked(out):
        data = mf.read_manifest(out)
        kept = []
        for e in data["clips"]:
            path = mf.clip_path(out, e)
            if path is not None and path.is_file():
                kept.append(e)
                continue
            tmp = mf.pending_temp(out, e)
            if tmp is not None:
                try:
                    os.replace(tmp, path)
                except OSError as exc:
                    log.warning("manifest entry %s (%s): cannot rename %s into place (%s)", e.get("id"),
                                e.get("file"), tmp, exc.strerror)
                else:
                    mf.fsync_dir(path.parent)
                    log.warning("manifest entry %s (%s): its clip was written whole but a killed run did not "
                                "rename it into place; finished", e.get("id"), e.get("file"))
                    kept.append(e)
                    continue
            log.warning("manifest entry %s (%s) has no file; dropped (%s)", e.get("id"), e.get("file"),
                        "its precompute job is made again" if isinstance(e.get("index"), int)
                        else "a regenerated clip: regenerate it again in review if wanted")
        if len(kept) != len(data["clips"]) or not (out / mf.MANIFEST).is_file():
            data["clips"] = kept
            mf.write_manifest(out, data)
        mf.clean(out)
    return data


def progress_bar(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="clip", desc="precompute", dynamic_ncols=True, mininterval=0.5)


def run_local(pipe, plan: Plan, writer: PlaylistWriter, bar, summary: Summary) -> None:
    """Every job in this process, in order; counts what it made and which artworks failed."""
    maker = ClipMaker(pipe)
    for work in plan.works:
        bar.set_postfix_str(work.artwork_id)
        done = 0
        try:
            image = read_image_bytes(work.image)
            for job in work.jobs:
                wave = maker.clip(work.artwork_id, image, str(work.image), job.options)
                summary.made += writer.add(job, wave) is not None
                done += 1
                bar.update(1)
        except Art2MusError as exc:
            summary.failures[work.artwork_id] = str(exc)
            bar.update(len(work.jobs) - done)


def report(summary: Summary, out: Path) -> None:
    log.info("precompute %s: %d clip(s) made in %.1f s (%.3f clips/s), %d already there, %d failure(s)",
             out, summary.made, summary.seconds, summary.clips_per_second, summary.already, len(summary.failures))


def precompute(catalog: Catalog, out: Path, clips: int, seed_base: int, base: GenerationOptions,
               start_runner) -> Summary:
    """The whole job. `start_runner()` -> (info {"bundle", "sample_rate"}, run(plan, writer, bar, summary))
    loads the model only when there is something to make."""
    start = time.perf_counter()
    if clips < 1:
        raise Art2MusError(f"--clips {clips!r} must be >= 1")
    data = prepare_folder(out)
    plan = plan_jobs(catalog, data, clips, seed_base, base)
    summary = Summary(already=plan.done, failures=dict(plan.failures))
    for i, error in enumerate(catalog.errors):
        summary.failures[f"catalog error {i + 1}"] = error
    if plan.works:
        info, run = start_runner()
        writer = PlaylistWriter(out, info["bundle"], info["sample_rate"])
        made_at = time.perf_counter()
        with progress_bar(plan.jobs) as bar:
            run(plan, writer, bar, summary)
        summary.generate_seconds = time.perf_counter() - made_at
    summary.seconds = time.perf_counter() - start
    return summary
