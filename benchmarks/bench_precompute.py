"""Precompute throughput (clips/s) in this process and on a local Ray cluster with 1 and 2 model actors.

Each mode precomputes the same jobs (WORKS synthetic artworks x CLIPS clips) into a fresh folder
through the real code path (precompute -> ClipMaker -> PlaylistWriter: FLAC + manifest). clips/s
counts from the model loaded (actors started) to the last clip written; start-up is printed apart.
Ray actors get one CPU and one ONNX Runtime thread each; the local runs use 1 thread and all cores.

    python3 benchmarks/bench_precompute.py [--bundle B] [--works 4] [--clips 2] [--seconds 10.24] [--steps 25]
        [--int8-stages unet|unet,vocoder|none] [--full-size [DIR]]

--full-size benchmarks the random-weight full-size bundle in DIR (default /tmp/art2mus-full): its fp32
stages are exported there on first use (benchmarks/fp16_fullsize.export_fullsize, the real ONNX export
of every stage at the real dimensions; tens of minutes on 2 cores, ~10 GB) and wrapped in a bundle
manifest (gpu_check.fullsize_bundle), reused after. It has no int8 variants: use --int8-stages none.
Each process or actor holds one model: a full-size fp32 model is several GB, so mind --modes on a
small machine.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

FULL_SIZE = Path("/tmp/art2mus-full")


def make_catalog(folder: Path, works: int) -> None:
    from installation.demo import composition

    folder.mkdir(parents=True)
    for i in range(works):
        cv2.imwrite(str(folder / f"work{i}.png"), composition(np.random.default_rng(i)))


def full_size_bundle(work: Path) -> Path:
    """The random-weight full-size bundle in `work`, exported (fp32 only) on first use, reused after."""
    from engines.bundle import load_bundle

    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    from fp16_fullsize import export_fullsize
    from gpu_check import fullsize_bundle

    if (work / "manifest.json").is_file():
        load_bundle(work, verify=False)  # a broken one is refused, not silently rebuilt
        return work
    start = time.perf_counter()
    export_fullsize(work, log=lambda m: print(m, flush=True), fp16=False)
    fullsize_bundle(work)
    print(f"full-size bundle {work} made in {time.perf_counter() - start:.0f} s", flush=True)
    return work


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundle", help="model bundle (default: the tiny demo bundle)")
    p.add_argument("--works", type=int, default=4)
    p.add_argument("--clips", type=int, default=2)
    p.add_argument("--seconds", type=float, default=10.24)
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--modes", default="local-1,local-all,ray-1,ray-2")
    p.add_argument("--int8-stages", default="unet",
                   help="model.int8_stages, comma-separated, or none (default: unet, the config's default)")
    p.add_argument("--full-size", nargs="?", const=str(FULL_SIZE), metavar="DIR",
                   help=f"the random-weight full-size bundle in DIR (default {FULL_SIZE}), made on first use")
    args = p.parse_args()
    if args.full_size and args.bundle:
        p.error("give --bundle or --full-size, not both")
    int8 = () if args.int8_stages == "none" else tuple(s for s in args.int8_stages.split(",") if s)
    logging.basicConfig(level=logging.WARNING)

    from engines.options import GenerationOptions
    from installation.catalog import load_catalog
    from installation.config import ModelConfig
    from installation.curator import precompute as pc
    from installation.generator.model import open_pipeline, resolve_bundle

    if args.full_size:
        args.bundle = str(full_size_bundle(Path(args.full_size)))
    bundle = resolve_bundle(ModelConfig(), args.bundle).resolve()
    base = GenerationOptions(args.seconds, args.steps, 3.5, "dpm", origin="bench")
    work = Path(tempfile.mkdtemp(prefix="bench-precompute-"))
    make_catalog(work / "catalog", args.works)
    catalog = load_catalog(work / "catalog", index=False)
    cores = os.cpu_count()
    print(f"bundle {bundle}; {args.works} works x {args.clips} clips of {args.seconds} s, {args.steps} steps; "
          f"int8 stages {','.join(int8) or 'none'}; {cores} cores (os.cpu_count), load average "
          f"{'/'.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    rows = []
    ray = None
    for mode in args.modes.split(","):
        out = work / mode
        t0 = time.perf_counter()
        if mode.startswith("local"):
            threads = 1 if mode == "local-1" else 0
            model = ModelConfig(bundle=str(bundle), threads=threads, int8_stages=int8)

            def start(model=model):
                pipe = open_pipeline(model)
                return pc.ClipMaker(pipe).info(), functools.partial(pc.run_local, pipe)
        else:
            import ray as ray_module

            from installation.curator.cluster import RayPool

            ray = ray_module
            workers = int(mode.split("-")[1])
            if not ray.is_initialized():
                ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")

            def start(workers=workers):
                pool = RayPool.start("auto", ModelConfig(threads=1, int8_stages=int8), bundle, workers, 1)
                return pool.info, pool.run
        summary = pc.precompute(catalog, out, args.clips, 0, base, start)
        total = time.perf_counter() - t0
        rows.append((mode, summary.made, total - summary.generate_seconds, summary.generate_seconds,
                     summary.clips_per_second))
        print(f"{mode}: {summary.made} clip(s), {summary.clips_per_second:.3f} clips/s, load average "
              f"{'/'.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    if ray is not None:
        ray.shutdown()
    print(f"{'mode':<10} {'clips':>5} {'start s':>8} {'make s':>8} {'clips/s':>8}")
    for mode, made, start_s, make_s, rate in rows:
        print(f"{mode:<10} {made:>5} {start_s:>8.1f} {make_s:>8.1f} {rate:>8.3f}")


if __name__ == "__main__":
    main()
