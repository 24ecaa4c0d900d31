"""`art2mus generator`: the kiosk's generator process."""

from __future__ import annotations

from installation.config import Config

HELP = "the kiosk's generator process: artwork events -> fresh clips for the audio process"


def add_arguments(p) -> None:
    p.add_argument("--catalog", help="catalog folder (default: catalog.folder)")


def run(cfg: Config, args) -> int:
    from installation.generator.process import run_generator_process

    if args.catalog:
        cfg = cfg.model_copy(update={"catalog": cfg.catalog.model_copy(update={"folder": args.catalog})})
    return run_generator_process(cfg)
