"""A playlists folder: OUT/ARTWORK_ID/*.flac plus OUT/manifest.json, the one list of its clips.

    {"format": 1, "updated": "...", "clips": [{"id", "artwork_id", "file" (relative), "index" (the
     precompute job, null for a clip regenerated in review), "seed", "steps", "scheduler", "guidance",
     "seconds", "sample_rate", "bundle" (fingerprint), "loudness_lufs" (measured; null for silence),
     "gain_db" (<0 when a clip peaking above full scale was scaled down for FLAC), "status" (new | kept |
     rejected), "origin" (precompute | review), "worker" (host:pid that made it), "created",
     "reviewed" (when a curator last set its status)}, ...]}

Every write is atomic (a temp file of our own naming, fsync, rename) and every change of the manifest
is made under an fcntl lock on OUT/.manifest.lock after re-reading it, so precompute, the review
page and two browser tabs never lose each other's changes. A clip is written whole to a temp file
named for its entry id (.art2mus-tmp-PID-ID.flac) and fsynced, then, in one locked step, listed in
the manifest and renamed into place: there is never a finished clip file the manifest does not list.
After a kill -9 the worst left behind is a temp file of a process that is gone (a kill while
writing: the next run removes it, clean) or, if the kill fell between the manifest write and the
rename, a listed clip whose file is not there yet. Readers skip such an entry (clip_file: the kiosk
plays, and the review page shows, only listed clips whose file is there), and the next precompute
run finishes it (its complete temp file is renamed into place: pending_temp) or, with no temp file,
drops the entry and makes that job again with the same seed. Nothing is deleted that is not of our
naming. Only the standard library here: the kiosk's audio process reads manifests too."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import re
import secrets
from pathlib import Path
from typing import Callable, Iterator

from engines.errors import Art2MusError

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"
LOCK = ".manifest.lock"
FORMAT = 1
STATUSES = ("new", "kept", "rejected")
TEMP_PREFIX = ".art2mus-tmp-"  # .art2mus-tmp-PID-RANDOM.SUFFIX: ours, and whose
_TEMP = re.compile(r"^\.art2mus-tmp-(\d+)-[0-9a-f]+\.[a-z0-9]+$")
_CLIP = re.compile(r"^(k\d{4,}|regen)-seed\d+\.flac$")  # the clip files precompute and review write
_HEX = re.compile(r"^[0-9a-f]+$")


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def new_clip_id() -> str:
    return secrets.token_hex(6)


def clip_name(index: int | None, seed: int) -> str:
    """The file name of clip `index` (a precompute job) or of a regenerated clip (index None)."""
    return f"k{index:04d}-seed{seed}.flac" if index is not None else f"regen-seed{seed}.flac"


def temp_path(folder: Path, suffix: str, tag: str | None = None) -> Path:
    """A temp file of our naming in `folder`; `tag` (hex, a clip's entry id) names whose it is."""
    if tag is not None and not _HEX.match(tag):
        raise ValueError(f"temp file tag {tag!r}: expected lowercase hex (a clip entry id)")
    return folder / f"{TEMP_PREFIX}{os.getpid()}-{tag or secrets.token_hex(4)}{suffix}"


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """`write(tmp)` fills a temp file beside `path`; it is fsynced and renamed over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path.parent, path.suffix)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def empty() -> dict:
    return {"format": FORMAT, "updated": now(), "clips": []}


def read_manifest(folder: str | Path) -> dict:
    """The manifest of a playlists folder (an empty one when the folder has none yet)."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return empty()
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Art2MusError(f"{path} is not a readable JSON manifest ({exc}); restore it from a backup, or move the "
                           "folder aside and precompute again") from None
    if not isinstance(data, dict) or not isinstance(data.get("clips"), list):
        raise Art2MusError(f"{path}: expected an object with a 'clips' list; it was not written by art2mus precompute")
    if not isinstance(data.get("format"), int) or data["format"] > FORMAT:
        raise Art2MusError(f"{path}: manifest format {data.get('format')!r} is not one this art2mus reads "
                           f"({FORMAT}); upgrade art2mus")
    return data


def write_manifest(folder: Path, data: dict) -> None:
    data["updated"] = now()
    text = json.dumps(data, indent=1, allow_nan=False)
    write_atomic(Path(folder) / MANIFEST, lambda tmp: tmp.write_text(text))


@contextlib.contextmanager
def locked(folder: str | Path) -> Iterator[None]:
    """Holds the playlists folder's manifest lock (other processes and threads wait)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def update(folder: str | Path, change: Callable[[dict], object]):
    """Re-reads the manifest under the lock, applies `change(data)` and writes it back atomically;
    returns what `change` returned."""
    with locked(folder):
        data = read_manifest(folder)
        result = change(data)
        write_manifest(Path(folder), data)
        return result


def clip_path(folder: str | Path, entry: dict) -> Path | None:
    """Where the file of a manifest entry lies, only if inside the playlists folder (a manifest edited
    by hand to point elsewhere is not followed). The file may be missing (a run killed between the
    manifest write and the rename): readers that open it use clip_file."""
    root = Path(folder).resolve()
    name = entry.get("file")
    if not isinstance(name, str) or not name:
        return None
    path = (root / name).resolve()
    return path if path.is_relative_to(root) and path != root else None


def clip_file(folder: str | Path, entry: dict) -> Path | None:
    """The file of a manifest entry if it is there (inside the folder, a regular file); None for an
    entry to skip: one pointing outside, or a listed clip whose file a killed run never put in place."""
    path = clip_path(folder, entry)
    return path if path is not None and path.is_file() else None


def pending_temp(folder: str | Path, entry: dict) -> Path | None:
    """The complete temp file of a listed clip whose rename into place a kill prevented (it was
    fsynced before the entry was listed), or None. Call with the lock held: a live writer lists and
    renames in one locked step, so under the lock a listed clip's temp file is always a leftover."""
    path, clip_id = clip_path(folder, entry), entry.get("id")
    if path is None or not isinstance(clip_id, str) or not _HEX.match(clip_id) or not path.parent.is_dir():
        return None
    ending = f"-{clip_id}{path.suffix}"
    for p in sorted(path.parent.iterdir()):
        if _TEMP.match(p.name) and p.name.endswith(ending) and p.is_file() and not p.is_symlink():
            return p
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean(folder: str | Path) -> list[Path]:
    """Removes what a killed run left: temp files of our naming whose process is gone, and clip files
    of our naming that the manifest does not list (an older art2mus renamed a clip into place before
    listing it). Call with the lock held, after finishing the listed clips' temp files (pending_temp).
    Returns what it removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    listed = {p for p in (clip_path(folder, e) for e in read_manifest(folder)["clips"]) if p is not None}
    removed = []
    for d in [folder] + [d for d in folder.iterdir() if d.is_dir()]:
        for p in d.iterdir():
            m = _TEMP.match(p.name)
            stale_temp = m is not None and p.is_file() and not _pid_alive(int(m.group(1)))
            unlisted = d != folder and _CLIP.match(p.name) is not None and p.resolve() not in listed
            if stale_temp or unlisted:
                p.unlink()
                removed.append(p)
    for p in removed:
        log.warning("removed %s, left by a run that was killed", p)
    return removed
