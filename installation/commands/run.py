"""`art2mus run`: the kiosk (camera + generator + audio under the supervisor)."""

from __future__ import annotations

from pathlib import Path

from installation.config import Config

HELP = "the kiosk: camera, generator and audio under the supervisor (until SIGTERM)"


def config_path(args) -> str | None:
    """The config file the children must read: --config, else ./config.yaml when present."""
    if args.config:
        return args.config
    return "config.yaml" if Path("config.yaml").is_file() else None


def add_arguments(p) -> None:
    p.add_argument("--seconds", type=float, help="stop after this long (default: until SIGTERM)")


def run(cfg: Config, args) -> int:
    from engines.errors import Art2MusError
    from installation.generator.model import resolve_bundle
    from installation.supervisor.run import Supervisor, install_signals

    if args.seconds is not None and not args.seconds > 0:
        raise Art2MusError(f"--seconds {args.seconds!r} must be above 0 (or leave it out to run until stopped)")
    if cfg.model.bundle is None:
        resolve_bundle(cfg.model)  # the tiny demo bundle is built once here, with a progress bar, not in a child
    supervisor = Supervisor(cfg, config_path(args))
    install_signals(supervisor)
    return supervisor.run(args.seconds)
