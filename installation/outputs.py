"""The one check for every path a command writes to: it names the path, what is wrong and the fix,
before any work is done. Files are then written atomically (temp + rename) with the usual umask."""

from __future__ import annotations

import os
from pathlib import Path

from engines.errors import Art2MusError

SYSTEM_TREES = ("/proc", "/sys", "/dev")


def _existing_ancestor(path: Path) -> Path:
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent


def _check_place(path: Path, what: str) -> None:
    resolved = Path(os.path.realpath(path))
    if any(str(resolved) == t or str(resolved).startswith(t + "/") for t in SYSTEM_TREES):
        raise Art2MusError(f"{what} {str(path)!r} resolves to {str(resolved)!r}, a system tree, not a place for "
                           "files; give a path in a normal folder")
    ancestor = _existing_ancestor(path)
    if not ancestor.is_dir():
        raise Art2MusError(f"{what} {str(path)!r} lies under {str(ancestor)!r}, which is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise Art2MusError(f"{what} {str(path)!r}: {str(ancestor)!r} is not writable; choose a folder you can write")


def check_output_file(path: str | Path, what: str = "--out", suffix: str = ".wav") -> Path:
    """A file to (over)write: `suffix`, in a writable folder, not replacing anything but a file of its kind."""
    p = Path(path).expanduser()
    if p.suffix.lower() != suffix:
        raise Art2MusError(f"{what} {str(path)!r}: art2mus writes {suffix} files here; give a name ending in {suffix}")
    _check_place(p, what)
    if p.exists() or p.is_symlink():
        if not p.is_file():
            raise Art2MusError(f"{what} {str(path)!r} exists and is not a regular file; choose another name")
        with open(p, "rb") as f:
            head = f.read(4)
        if suffix == ".wav" and head not in (b"RIFF", b"RF64", b""):
            raise Art2MusError(f"{what} {str(path)!r} exists and is not a WAV file; it will not be overwritten: "
                               "choose another name")
    return p


def check_output_folder(path: str | Path, what: str = "--out") -> Path:
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise Art2MusError(f"{what} {str(path)!r} exists and is not a folder; give a folder (or OUT.wav for one clip)")
    _check_place(p / "x", what)
    return p


def file_mode() -> int:
    """0666 less the process's umask: what open() would give a new file (mkstemp gives 0600)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask
