"""Full-size fp16 variants, checked on the CPU: the four stages with random weights and the real
dimensions (bench_pipeline.build_stages), exported in fp32, converted to fp16 by export/fp16.py
(measured fp32 nodes, the policy ladder), each fp16 graph run on ONNX Runtime's CPU provider
against the fp32 PyTorch stage, then one whole clip through the fp16 pipeline against the fp32 one
(same seed, same LOA tokens, ONNX Runtime CPU both).

~10 GB of memory and tens of minutes on 2 cores; run it once, niced:

    nice -n 19 python3 benchmarks/fp16_fullsize.py --work /tmp/art2mus-full [--steps 25] [--seconds 10.24] [--no-clip]

benchmarks/gpu_check.py reuses export_fullsize() for the GPU box's engines.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pipeline import SCHEDULER, build_stages, constants, dims  # noqa: E402

from engines.specs import STAGES  # noqa: E402

PARITY_FRAMES = 25  # odd: the UNet's upsample-size branch


def _feeds(rng) -> dict[str, dict]:
    from export.exporter import example_image

    c = constants()
    return {
        "encoder": {"pixels": example_image(224)},
        "projector": {"embedding": (lambda e: e / np.linalg.norm(e))(rng.standard_normal((1, 1024), dtype=np.float32))},
        "unet": {"latents": rng.standard_normal((2, 8, PARITY_FRAMES, 16), dtype=np.float32),
                 "timestep": np.array([501]), "loa_tokens": rng.standard_normal((2, 8, 768), dtype=np.float32),
                 "t5_tokens": c["t5_tokens"], "t5_mask": c["t5_mask"]},
        "vocoder": {"latents": rng.standard_normal((1, 8, PARITY_FRAMES, 16), dtype=np.float32)},
    }


def export_fullsize(work: Path, log=print, stages=STAGES, fp16: bool = True) -> dict:
    """fp32 ONNX of the full-size `stages` + their fp16 variants under work/onnx, reused when there.
    Returns the per-stage fp16 table (as the manifest's); each stage's row is also written to
    work/fp16.<stage>.json, and work/fp16.json holds the table once every stage has one (so four
    processes, one per stage, can share the work: benchmarks/gpu_check.py does). With fp16=False
    only the fp32 graphs are exported (benchmarks/bench_precompute.py --full-size) and {} is returned."""
    from engines.specs import stage_specs
    from export.fp16 import FP16_TOLERANCE, POLICIES, activation_ranges, convert_fp16
    from export.onnx_export import export_stage
    from export.parity import compare
    from export.quantize import unet_calibration
    from export.stages import reference

    onnx_dir = work / "onnx"
    onnx_dir.mkdir(parents=True, exist_ok=True)
    rows = {s: work / f"fp16.{s}.json" for s in STAGES}
    if all((rows[s].exists() or not fp16) and (onnx_dir / f"{s}.onnx").exists() for s in stages):
        log(f"full-size: reusing {onnx_dir}")
        return merge_table(work, stages) if fp16 else {}
    rng = np.random.default_rng(2)
    feeds = _feeds(rng)
    refs = {}
    modules, specs = build_stages(), stage_specs(dims())  # all four, in order: the same weights in every process
    for name in stages:
        path = onnx_dir / f"{name}.onnx"
        if not path.exists():
            seconds = export_stage(modules[name], specs[name], feeds[name], path)
            log(f"full-size: exported {name} in {seconds:.0f} s")
        if fp16:
            refs[name] = reference(modules[name], feeds[name]).numpy()
    if not fp16:
        return {}
    del modules
    gc.collect()
    probes = {"unet": unet_calibration(feeds["unet"], rng)[::2]}
    for name in stages:
        start = time.perf_counter()
        src, dst = onnx_dir / f"{name}.onnx", onnx_dir / f"{name}.fp16.onnx"
        ranges = activation_ranges(src, [feeds[name]] + probes.get(name, []))
        for policy in POLICIES:
            conversion = convert_fp16(src, dst, policy, ranges, ("vae",) if name == "vocoder" else ())
            row = compare(f"{name}.fp16", _ort(dst, feeds[name]), refs[name], FP16_TOLERANCE)
            if row.ok:
                break
        if not row.ok:
            for f in onnx_dir.glob(dst.name + "*"):
                f.unlink()
        entry = {"variant": "fp16" if row.ok else "fp32", "policy": policy.name, "conversion": conversion.to_json(),
                 "parity": {row.stage: row.to_json()}, "seconds": time.perf_counter() - start}
        rows[name].write_text(json.dumps(entry, indent=2))
        log(f"full-size: {name} fp16 rel L2 {row.rel_l2:.2e} rel max {row.rel_max:.2e} ({policy.name}, "
            f"{conversion.fp32_nodes}/{conversion.nodes} nodes fp32, {time.perf_counter() - start:.0f} s)")
    return merge_table(work, stages)


def merge_table(work: Path, stages=STAGES) -> dict:
    table = {s: json.loads((work / f"fp16.{s}.json").read_text()) for s in STAGES if (work / f"fp16.{s}.json").exists()}
    if set(table) == set(STAGES):
        (work / "fp16.json").write_text(json.dumps(table, indent=2))
    return {s: table[s] for s in stages}


def _ort(path: Path, feeds: dict, threads: int = 0) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]).run(None, feeds)[0]


def clip(work: Path, variant: str | None, steps: int, seconds: float, seed: int, threads: int) -> dict:
    """One whole clip on ONNX Runtime CPU with every stage in `variant` (None: fp32)."""
    from engines.bundle import AudioFormat, Bundle
    from engines.onnxruntime_backend import OnnxRuntimeEngine
    from engines.pipeline import Art2MusPipeline
    from engines.specs import stage_specs
    from export.exporter import example_image

    specs = stage_specs(dims())
    suffix = f".{variant}" if variant else ""
    engines = {s: OnnxRuntimeEngine(specs[s], work / "onnx" / f"{s}{suffix}.onnx", ["CPUExecutionProvider"], threads)
               for s in STAGES}
    manifest = {"scheduler": SCHEDULER, "limits": {"max_seconds": 60}, "preprocess": {"mean": None, "std": None}}
    pipe = Art2MusPipeline(Bundle(work, manifest, dims(), AudioFormat(16000, 160), specs, constants()), engines)
    start = time.perf_counter()
    loa = pipe.loa_tokens(pipe.embed(example_image(224)))
    shape = pipe.clip_shape(seconds)
    latents = pipe.denoise(loa, pipe.initial_latents(seed, shape), steps, 3.5, "dpm")
    wave = pipe.decode(latents, shape.samples)
    return {"loa": loa, "latents": latents, "wave": wave, "seconds": time.perf_counter() - start,
            "unet_step": pipe.times.seconds["unet"] / max(pipe.times.calls["unet"], 1)}


def rel(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    from export.parity import relative_errors

    return relative_errors(a, b)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/art2mus-full"))
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--seconds", type=float, default=10.24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-clip", action="store_true", help="per-stage table only")
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES),
                        help="export and convert only these (one process per stage shares the work)")
    args = parser.parse_args()
    table = export_fullsize(args.work, log=lambda m: print(m, flush=True), stages=tuple(args.stages))
    print("\nfull-size fp16 variants, ONNX Runtime CPU vs PyTorch fp32 (tolerance 5e-2):")
    print(f"{'stage':<10} {'variant':<8} {'policy':<9} {'fp32 nodes':>12} {'rel L2':>9} {'rel max':>9} {'largest |x|':>12}")
    for name, e in table.items():
        (row,) = e["parity"].values()
        c = e["conversion"]
        print(f"{name:<10} {e['variant']:<8} {e['policy']:<9} {c['fp32_nodes']:>5}/{c['nodes']:<6} {row['rel_l2']:>9.2e} "
              f"{row['rel_max']:>9.2e} {c['largest_activation']:>12.3g}")
    if args.no_clip or set(args.stages) != set(STAGES):
        return 0
    results = {}
    for variant in (None, "fp16"):
        results[variant] = clip(args.work, variant, args.steps, args.seconds, args.seed, args.threads)
        print(f"clip {variant or 'fp32'}: {results[variant]['seconds']:.1f} s on the CPU "
              f"(UNet step {results[variant]['unet_step']:.2f} s)", flush=True)
        gc.collect()
    print(f"\nwhole clip, fp16 pipeline vs fp32 ({args.seconds} s, {args.steps} DPM++ steps, guidance 3.5, seed {args.seed}),"
          " relative L2 / max|diff|/max|ref|:")
    for key in ("loa", "latents", "wave"):
        l2, mx = rel(results["fp16"][key], results[None][key])
        print(f"  {key:<8} {l2:.2e} / {mx:.2e}")
    out = {k: rel(results["fp16"][k], results[None][k]) for k in ("loa", "latents", "wave")}
    (args.work / "fp16-clip.json").write_text(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
