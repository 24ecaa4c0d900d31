"""`art2mus demo`: the embedded default."""

from __future__ import annotations

from installation.config import Config

HELP = "the embedded default: tiny model, synthetic artworks, clips and a walk to files"


def add_arguments(p) -> None:
    pass


def run(cfg: Config, args) -> int:
    from installation.demo import run_demo

    summary = run_demo(cfg)
    print(f"demo: {len(summary.clips)} artworks -> clips in {summary.out / 'clips'} "
          f"(bundle {summary.bundle}), {summary.wall_seconds:.1f} s")
    print(f"summary: {summary.out / 'summary.json'}")
    return 0
