"""`art2mus camera`: the kiosk's camera process."""

from __future__ import annotations

from installation.config import Config

HELP = "the kiosk's camera process: frames -> debounced artwork events (ZeroMQ PUB)"


def add_arguments(p) -> None:
    p.add_argument("--catalog", help="catalog folder (default: catalog.folder)")
    p.add_argument("--source", help="override camera.source")


def run(cfg: Config, args) -> int:
    from installation.camera.process import run_camera_process

    camera = cfg.camera.model_copy(update={"source": args.source}) if args.source else cfg.camera
    return run_camera_process(camera, cfg.ipc, args.catalog or cfg.catalog.folder)
