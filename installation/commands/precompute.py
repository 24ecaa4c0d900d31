"""`art2mus precompute`: N clips per catalog artwork into a playlists folder the kiosk reads
(OUT/ARTWORK_ID/*.flac + OUT/manifest.json), resumable, locally or on a Ray cluster."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from engines.errors import Art2MusError
from engines.options import GenerationOptions
from installation.config import Config

HELP = "precompute playlists: N clips per catalog artwork (FLAC + manifest.json), resumable"


def add_arguments(p) -> None:
    p.add_argument("--catalog", help="artwork images + catalog.yaml (default: catalog.folder)")
    p.add_argument("--clips", type=int, required=True, help="clips per artwork (a rerun adds only the missing ones)")
    p.add_argument("--out", help="playlists folder (default: audio.playlists)")
    p.add_argument("--seconds", type=float, help="clip length (default: model.clip_seconds; catalog.yaml may override)")
    p.add_argument("--steps", type=int, help="denoising steps (default: model.steps; catalog.yaml may override)")
    p.add_argument("--guidance", type=float, help="guidance scale (default: model.guidance)")
    p.add_argument("--scheduler", choices=("dpm", "ddim"), help="default: model.scheduler")
    p.add_argument("--seed-base", type=int, default=0, help="clip k of every artwork uses seed SEED_BASE+k (default 0)")
    p.add_argument("--bundle", help="model bundle folder (default: model.bundle, else the tiny demo bundle)")
    p.add_argument("--ray", metavar="ADDRESS", help="run on a Ray cluster: its address (host:port, ray://...) "
                   "or 'auto' (the cluster `ray start` runs here, else a local one)")
    p.add_argument("--workers", type=int, help="Ray: model actors (default: cluster CPUs / --worker-cpus)")
    p.add_argument("--worker-cpus", type=int, default=1, help="Ray: CPUs (and ONNX Runtime threads) per actor")
    p.add_argument("--worker-gpus", type=float, default=0.0, help="Ray: GPUs per actor (e.g. 1, or 0.5 to share)")


def run(cfg: Config, args) -> int:
    from installation.catalog import load_catalog
    from installation.curator import precompute as pc
    from installation.generator.model import open_pipeline, resolve_bundle

    out = args.out or cfg.audio.playlists
    if not out:
        raise Art2MusError("no playlists folder: give --out DIR (or set audio.playlists)")
    out = Path(out).expanduser()
    m = cfg.model
    base = GenerationOptions(
        seconds=m.clip_seconds if args.seconds is None else args.seconds,
        steps=m.steps if args.steps is None else args.steps,
        guidance=m.guidance if args.guidance is None else args.guidance,
        scheduler=args.scheduler or m.scheduler, seed=None, origin="art2mus precompute",
    )
    catalog = load_catalog(args.catalog or cfg.catalog.folder, index=False)
    if not catalog.artworks and not catalog.errors:
        raise Art2MusError(f"catalog {str(catalog.folder)!r} has no artwork images (JPEG, PNG, TIFF, BMP, WebP)")

    def start_local():
        pipe = open_pipeline(m, args.bundle)
        return pc.ClipMaker(pipe).info(), functools.partial(pc.run_local, pipe)

    def start_ray():
        from installation.curator.cluster import RayPool

        pool = RayPool.start(args.ray, m, resolve_bundle(m, args.bundle).resolve(), args.workers, args.worker_cpus,
                             args.worker_gpus)
        return pool.info, pool.run

    summary = pc.precompute(catalog, out, args.clips, args.seed_base, base, start_ray if args.ray else start_local)
    pc.report(summary, out)
    for what, why in summary.failures.items():
        print(f"art2mus precompute: {what}: {why}", file=sys.stderr)
    print(f"{out}: {summary.made} clip(s) made, {summary.already} already there, "
          f"{len(summary.failures)} failure(s); {summary.clips_per_second:.3f} clips/s")
    return 0 if summary.ok else 1
