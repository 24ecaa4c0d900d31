"""`art2mus build`: the bundle's graphs -> TensorRT engines for this box's GPU (engines/tensorrt_build.py)."""

from __future__ import annotations

import sys

from engines.errors import Art2MusError
from engines.specs import STAGES
from installation.config import Config

HELP = "bundle -> TensorRT engines for this GPU (rebuilt when the bundle, GPU, TensorRT or settings change)"


def add_arguments(p) -> None:
    p.add_argument("--bundle", help="model bundle folder (default: model.bundle of the config)")
    p.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES), metavar="STAGE",
                   help=f"stages to build (default: all of {', '.join(STAGES)})")
    p.add_argument("--workspace-gb", type=float,
                   help="builder workspace limit in GB (default: a quarter of GPU memory, at most 4; Jetson shares it with the OS)")
    p.add_argument("--max-seconds", type=float,
                   help="longest clip the engines accept (default: the bundle's limit); shorter builds faster and smaller")
    p.add_argument("--optimization-level", type=int, choices=range(6), default=3, metavar="0-5",
                   help="TensorRT builder optimisation level (default 3; higher searches longer)")
    p.add_argument("--force", action="store_true", help="rebuild even when an engine's metadata matches")


def run(cfg: Config, args) -> int:
    from engines.bundle import load_bundle
    from engines.tensorrt_build import BuildSettings, build_engines, default_workspace_gb, detect_box

    if args.workspace_gb is not None and not 0 < args.workspace_gb <= 256:
        raise Art2MusError(f"--workspace-gb {args.workspace_gb:g} must be above 0 and at most 256, e.g. 2 on a Jetson")
    box = detect_box()  # refuses first, naming what is missing, before the bundle is read
    from installation.generator.model import resolve_bundle

    bundle = load_bundle(resolve_bundle(cfg.model, args.bundle))
    if not bundle.fp16_table:
        print(f"note: {bundle.root} has no fp16 variants (export with --fp16); engines are built in fp32", file=sys.stderr)
    settings = BuildSettings(workspace_gb=args.workspace_gb or default_workspace_gb(box.gpu),
                             optimization_level=args.optimization_level, max_seconds=args.max_seconds)
    results = build_engines(bundle, tuple(args.stages), settings, args.force, progress=lambda line: print(line, flush=True),
                            box=box)
    built = [r.stage for r in results if r.built]
    print(f"engines in {bundle.engines_root / box.key}: built {', '.join(built) or 'none'}; "
          f"up to date {', '.join(r.stage for r in results if not r.built) or 'none'}")
    return 0
