"""`art2mus review`: the curators' page on 127.0.0.1 — listen to a playlists folder's clips, keep or
reject them, regenerate one with a new seed."""

from __future__ import annotations

from pathlib import Path

from engines.errors import Art2MusError
from installation.config import Config

HELP = "the curators' review page for a playlists folder (127.0.0.1 only)"


def add_arguments(p) -> None:
    p.add_argument("--playlists", help="playlists folder from `art2mus precompute` (default: audio.playlists)")
    p.add_argument("--catalog", help="artwork images + catalog.yaml (default: catalog.folder when it exists)")
    p.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0 = any free port)")
    p.add_argument("--bundle", help="model bundle for 'regenerate' (default: model.bundle, else the tiny demo bundle)")


def run(cfg: Config, args) -> int:
    from installation.curator.review import ReviewSettings, serve

    playlists = args.playlists or cfg.audio.playlists
    if not playlists:
        raise Art2MusError("no playlists folder: give --playlists DIR (or set audio.playlists)")
    catalog = args.catalog or (cfg.catalog.folder if Path(cfg.catalog.folder).is_dir() else None)
    if not 0 <= args.port <= 65535:
        raise Art2MusError(f"--port {args.port!r} must be 0..65535")
    serve(ReviewSettings(Path(playlists).expanduser(), Path(catalog) if catalog else None, cfg.model, args.bundle),
          args.port, on_ready=_announce)
    return 0


def _announce(url: str) -> None:
    print(f"review page: {url}  (Ctrl-C to stop)", flush=True)
