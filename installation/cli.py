"""The one entry point, `art2mus`. Parses arguments, loads the config once, hands it to the
command's module (installation/commands/NAME.py); an Art2MusError becomes one clear line on
stderr and exit status 2 (no traceback)."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from engines.errors import Art2MusError
from installation.commands import NAMES
from installation.config import load_config

log = logging.getLogger("art2mus")
QUIET_LIBRARIES = ("onnxruntime", "matplotlib", "PIL", "urllib3", "filelock", "torch", "onnxscript")


def _command(name: str):
    return importlib.import_module(f"installation.commands.{name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="art2mus", description="Artworks into music: museum installation runtime")
    parser.add_argument("--config", help="YAML config (default: ./config.yaml if present, else built-in defaults)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in NAMES:
        module = _command(name)
        module.add_arguments(sub.add_parser(name, help=module.HELP, description=module.HELP))
    return parser


def setup_logging(level: int) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in QUIET_LIBRARIES:  # their INFO lines drown a kiosk's own
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = load_config(args.config)
        setup_logging(logging.DEBUG if args.verbose else getattr(logging, cfg.logging.level))
        return int(_command(args.command).run(cfg, args))
    except Art2MusError as exc:
        print(f"art2mus {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
