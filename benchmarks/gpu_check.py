"""The one GPU check: everything about the TensorRT path that needs a GPU, in one call on a GPU box.

    pip install '.[gpu,export,test]'          # first; this script says what is missing
    python3 benchmarks/gpu_check.py [--work /tmp/art2mus-gpu]
    python3 benchmarks/gpu_check.py --dry-run  # on the CPU: checks the plan, exports tiny, skips GPU steps

Steps (budget: 8 minutes on an H100/H200-class box; the full-size export runs on the CPU beside
the GPU tests, and is reused when --work already holds it):
 1. install check: tensorrt, cuda-python, onnxruntime-gpu's CUDA provider, torch with CUDA, the export stack
 2. tiny bundle with fp16 variants (`art2mus export --tiny --fp16`), its engines (`art2mus build`)
 3. full-size random-weight stages (benchmarks/fp16_fullsize.py: fp32 + fp16 + CPU parity), in the background
 4. `pytest -m gpu` (tests/test_tensorrt.py, tests/test_gpu.py)
 5. full-size engines for clips up to 10.24 s
 6. per-stage median and p99 after warm-up; a whole 10.24 s clip at 25 DPM++ steps and its real-time factor
 7. diffusers' AudioLDM2Pipeline in fp16 eager on the same card, same UNet/VAE/vocoder, for the ratio
 8. one table with the card's name; targets: >= 4x faster than diffusers fp16 eager, <= 0.2 s a clip
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

BUDGET_S = 480
SECONDS, STEPS, GUIDANCE = 10.24, 25, 3.5
TARGET_SPEEDUP, TARGET_CLIP_S = 4.0, 0.2
REPEATS = {"encoder": 20, "projector": 20, "unet": 50, "vocoder": 20}
WARMUP = 5
EXPORT_MODULES = ("torch", "diffusers", "transformers", "onnx", "onnxscript", "onnxconverter_common", "pytest")
GPU_MODULES = ("tensorrt", "cuda-python")


class Report:
    def __init__(self):
        self.start = time.perf_counter()
        self.rows: list[tuple[str, str, str]] = []  # step, result, detail

    def add(self, step: str, result: str, detail: str = "") -> None:
        self.rows.append((step, result, detail))
        print(f"[{self.elapsed():5.0f} s] {step}: {result}{' - ' + detail if detail else ''}", flush=True)

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


def missing_modules(gpu: bool) -> list[str]:
    missing = []
    for name in EXPORT_MODULES + (GPU_MODULES if gpu else ()):
        try:
            if name == "cuda-python":
                from engines.tensorrt_build import cudart

                cudart()
            else:
                importlib.import_module(name)
        except Exception as exc:
            missing.append(f"{name} ({type(exc).__name__}: {exc})")
    if gpu:
        import onnxruntime as ort

        if "CUDAExecutionProvider" not in ort.get_available_providers():
            missing.append("onnxruntime-gpu (no CUDAExecutionProvider in this onnxruntime)")
        try:
            import torch

            if not torch.cuda.is_available():
                missing.append(f"torch with CUDA (torch {torch.__version__} sees no GPU)")
        except ImportError:
            pass
    return missing


def cli(*args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "installation.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def tail(text: str, lines: int = 1) -> str:
    return " | ".join(t for t in text.strip().splitlines()[-lines:])


# ---- full-size bundle around benchmarks/fp16_fullsize.py's graphs -------------------------------------

def fullsize_bundle(work: Path) -> Path:
    """A bundle manifest around work/onnx (random weights, the real dims), so `build` and the backend read it.
    Without work/fp16.json (export_fullsize(..., fp16=False)) the bundle holds the fp32 graphs only."""
    from bench_pipeline import SCHEDULER, constants, dims

    from engines.bundle import FORMAT_VERSION, file_sha256, write_manifest
    from engines.preprocess import CLIP_MEAN, CLIP_STD
    from engines.specs import STAGES, stage_specs

    def entry(path: Path) -> dict:
        return {"file": str(path.relative_to(work)), "sha256": file_sha256(path)}

    def graph(name: str) -> dict:
        data = sorted((work / "onnx").glob(f"{name}.onnx.*"))
        return {**entry(work / "onnx" / f"{name}.onnx"), "data_files": [entry(p) for p in data]}

    (work / "constants").mkdir(exist_ok=True)
    for name, array in constants().items():
        np.save(work / "constants" / f"{name}.npy", array)
    specs = stage_specs(dims())
    table = json.loads((work / "fp16.json").read_text()) if (work / "fp16.json").is_file() else {}
    stages = {}
    for s in STAGES:
        stages[s] = {**graph(s), "inputs": [t.to_json() for t in specs[s].inputs],
                     "outputs": [t.to_json() for t in specs[s].outputs]}
        if table.get(s, {}).get("variant") == "fp16":
            stages[s]["variants"] = {"fp16": graph(f"{s}.fp16")}
    from dataclasses import asdict

    write_manifest(work, {
        "format_version": FORMAT_VERSION, "source": {"kind": "random", "description": "full-size random weights"},
        "dims": asdict(dims()), "audio": {"sample_rate": 16000, "hop": 160},
        "preprocess": {"image_size": 224, "mean": list(CLIP_MEAN), "std": list(CLIP_STD)}, "stages": stages,
        "constants": {n: entry(work / "constants" / f"{n}.npy") for n in ("t5_tokens", "t5_mask", "negative_loa")},
        "scheduler": SCHEDULER, "defaults": {"guidance": GUIDANCE, "steps": STEPS, "scheduler": "dpm", "seconds": SECONDS},
        "limits": {"max_seconds": 60.0}, "parity": {}, "fp16": {"stages": table}})
    return work


# ---- benchmarks ------------------------------------------------------------------------------------

def bench_tensorrt(root: Path) -> dict:
    from engines.bundle import load_bundle
    from engines.options import GenerationOptions
    from engines.pipeline import Art2MusPipeline
    from engines.tensorrt_backend import load_tensorrt_engines
    from export.exporter import example_image

    bundle = load_bundle(root, verify=False)
    pipe = Art2MusPipeline(bundle, load_tensorrt_engines(bundle))
    shape = pipe.clip_shape(SECONDS)
    c = bundle.constants
    emb = pipe.embed(example_image(224))
    loa = pipe.loa_tokens(emb)
    lat = pipe.initial_latents(0, shape)
    feeds = {"encoder": {"pixels": example_image(224)}, "projector": {"embedding": emb},
             "unet": {"latents": np.concatenate([lat, lat]), "timestep": np.array([501]),
                      "loa_tokens": np.concatenate([c["negative_loa"], loa]), "t5_tokens": c["t5_tokens"],
                      "t5_mask": c["t5_mask"]},
             "vocoder": {"latents": lat}}
    stages = {}
    for stage, engine in pipe.engines.items():
        for _ in range(WARMUP):
            engine.run(feeds[stage])
        times = []
        for _ in range(REPEATS[stage]):
            start = time.perf_counter()
            engine.run(feeds[stage])
            times.append(time.perf_counter() - start)
        stages[stage] = {"median_ms": 1e3 * float(np.median(times)), "p99_ms": 1e3 * float(np.percentile(times, 99)),
                         "provider": engine.provider}
    options = GenerationOptions(SECONDS, STEPS, GUIDANCE, seed=0)
    pipe.generate_from(loa, options)  # warm-up at the clip's shape (captures the UNet's CUDA graph)
    clips = []
    for k in range(3):
        start = time.perf_counter()
        (wave,) = pipe.generate(pipe.pixels(np.random.default_rng(k).random((300, 400, 3)).astype(np.float32)),
                                options.with_seed(k))
        clips.append(time.perf_counter() - start)
    return {"stages": stages, "clip_s": float(np.median(clips)), "finite": bool(np.all(np.isfinite(wave)))}


class _Dtype:
    """Stands in for the text encoders diffusers only asks for a dtype (prompt embeddings are given)."""

    def __init__(self, dtype):
        from types import SimpleNamespace

        self.dtype = dtype
        self.config = SimpleNamespace(model_type="t5")


def diffusers_clip(parts: dict, device: str, dtype, steps: int, seconds: float, t5_length: int = 9) -> float:
    """Seconds for one clip through diffusers' AudioLDM2Pipeline (eager), prompt embeddings given, so
    what runs is what our pipeline runs: the guided UNet loop, the VAE and the vocoder."""
    import torch
    from diffusers import AudioLDM2Pipeline, DDIMScheduler, DPMSolverMultistepScheduler
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.set_verbosity_error()

    from bench_pipeline import SCHEDULER

    unet, vae, vocoder = (parts[k].to(device, dtype).eval() for k in ("unet", "vae", "vocoder"))
    pipe = AudioLDM2Pipeline(vae=vae, text_encoder=None, text_encoder_2=_Dtype(dtype), projection_model=None,
                             language_model=_Dtype(dtype), tokenizer=None, tokenizer_2=None, feature_extractor=None,
                             unet=unet, scheduler=DPMSolverMultistepScheduler.from_config(DDIMScheduler(**SCHEDULER).config),
                             vocoder=vocoder)
    pipe.set_progress_bar_config(disable=True)
    cross = unet.config.cross_attention_dim
    loa_dim, t5_dim = (cross[0][1], cross[0][2]) if isinstance(cross[0], (list, tuple)) else (cross[1], cross[2])
    g = torch.Generator(device="cpu").manual_seed(0)
    embeds = {"prompt_embeds": torch.randn(1, t5_length, t5_dim, generator=g),
              "negative_prompt_embeds": torch.randn(1, t5_length, t5_dim, generator=g),
              "generated_prompt_embeds": torch.randn(1, 8, loa_dim, generator=g),
              "negative_generated_prompt_embeds": torch.randn(1, 8, loa_dim, generator=g)}
    embeds = {k: v.to(device, dtype) for k, v in embeds.items()}

    def run():
        with torch.no_grad():
            out = pipe(audio_length_in_s=seconds, num_inference_steps=steps, guidance_scale=GUIDANCE,
                       num_waveforms_per_prompt=1, output_type="np", **embeds).audios
        if device == "cuda":
            torch.cuda.synchronize()
        return out

    run()  # warm-up
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def diffusers_fullsize() -> dict:
    """diffusers fp16 eager on this GPU with full-size random UNet, VAE and vocoder (own process)."""
    import torch

    from bench_pipeline import build_stages

    stages = build_stages()
    parts = {"unet": stages["unet"].unet, "vae": stages["vocoder"].vae, "vocoder": stages["vocoder"].vocoder}
    del stages
    return {"clip_s": diffusers_clip(parts, "cuda", torch.float16, STEPS, SECONDS),
            "gpu": torch.cuda.get_device_name(0)}


def diffusers_tiny_cpu(checkpoint: Path) -> float:
    """The same call on the tiny checkpoint on the CPU (the dry run checks the baseline's code path)."""
    import torch

    from transformers.utils import logging as transformers_logging

    from export.audioldm2 import load_audioldm2

    transformers_logging.disable_progress_bar()
    parts = load_audioldm2(checkpoint / "audioldm2")
    return diffusers_clip({"unet": parts.unet, "vae": parts.vae, "vocoder": parts.vocoder}, "cpu", torch.float32, 2, 1.0,
                          t5_length=4)


# ---- the run ----------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/art2mus-gpu"))
    parser.add_argument("--dry-run", action="store_true", help="CPU only: check the plan, export tiny, skip GPU steps")
    parser.add_argument("--diffusers-only", action="store_true", help=argparse.SUPPRESS)  # step 7, in a child
    args = parser.parse_args()
    if args.diffusers_only:
        print("RESULT " + json.dumps(diffusers_fullsize()))
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    report = Report()
    gpu = not args.dry_run
    missing = missing_modules(gpu)
    if missing:
        report.add("install", "FAIL", "missing: " + "; ".join(missing) + ". Run: pip install '.[gpu,export,test]' "
                   "(torch with CUDA from its own index on a GPU box)")
        return 1
    report.add("install", "ok", "export stack" + (", tensorrt, cuda-python, onnxruntime-gpu, torch CUDA" if gpu else
                                                  "; GPU modules not checked (dry run)"))
    full = args.work / "full"
    background = {}
    if gpu:
        from engines.specs import STAGES

        full.mkdir(exist_ok=True)
        for stage in STAGES:  # one process per stage: the export is single-threaded tracing, the box has cores
            background[stage] = subprocess.Popen(
                [sys.executable, str(ROOT / "benchmarks" / "fp16_fullsize.py"), "--work", str(full), "--stages", stage,
                 "--no-clip"], cwd=ROOT, stdout=open(full / f"export.{stage}.log", "w"), stderr=subprocess.STDOUT)
        report.add("full-size export", "started", f"4 processes in the background, logs {full}/export.*.log")
    else:
        report.add("full-size export", "skipped", "dry run: ~10 GB and tens of minutes on a CPU; "
                   "benchmarks/fp16_fullsize.py measures it there")

    tiny = args.work / "tiny"
    done = cli("export", "--tiny", "--fp16", "--no-int8", "--out", str(tiny))
    if done.returncode:
        report.add("tiny export --fp16", "FAIL", tail(done.stderr, 5))
        return 1
    rows = [line.split() for line in done.stdout.split("fp16 variants")[-1].splitlines()]
    report.add("tiny export --fp16", "ok", "; ".join(f"{r[0]} {r[1]} rel L2 {r[4]}" for r in rows
                                                    if len(r) >= 5 and r[1] in ("fp16", "fp32")))
    build = cli("build", "--bundle", str(tiny), "--max-seconds", "4")
    if gpu:
        report.add("tiny build", "ok" if build.returncode == 0 else "FAIL", tail(build.stdout + build.stderr, 1))
    else:
        refused = build.returncode == 2 and "Traceback" not in build.stderr and len(build.stderr.strip().splitlines()) == 1
        report.add("tiny build", "skipped" if refused else "FAIL",
                   f"no GPU: refused in one line, exit {build.returncode}: {build.stderr.strip()[:160]}")
        if not refused:
            return 1

    tests = subprocess.run([sys.executable, "-m", "pytest", "-m", "gpu", "-rs", "-q", "-p", "no:cacheprovider",
                            "tests/test_tensorrt.py", "tests/test_gpu.py"], cwd=ROOT, capture_output=True, text=True)
    summary = tail(tests.stdout, 1)
    skipped_ok = tests.returncode in (0, 5)
    report.add("pytest -m gpu", ("ok" if tests.returncode == 0 else "FAIL") if gpu else ("skipped" if skipped_ok else "FAIL"),
               summary + ("" if gpu else " (reasons: " + "; ".join(
                   sorted({ln.split(": ", 2)[-1][:120] for ln in tests.stdout.splitlines() if ln.startswith("SKIPPED")}))
                          + ")"))
    if not gpu:
        report.add("diffusers baseline (tiny, CPU fp32, 2 steps)", "ok",
                   f"{diffusers_tiny_cpu(_tiny_checkpoint(args.work)):.2f} s: the call path the GPU run times in fp16")
        for step in ("full-size build", "benchmark", "diffusers fp16 eager"):
            report.add(step, "skipped", "needs the GPU")
        return _table(report, None, None, None, None)

    failed = [s for s, proc in background.items() if proc.wait()]
    if failed:
        report.add("full-size export", "FAIL", "; ".join(f"{s}: {tail((full / f'export.{s}.log').read_text(), 2)}"
                                                         for s in failed))
        return 1
    from fp16_fullsize import merge_table

    table = merge_table(full)
    report.add("full-size export", "ok", ", ".join(
        f"{s} {e['variant']} {next(iter(e['parity'].values()))['rel_l2']:.1e}" for s, e in table.items()))
    fullsize_bundle(full)
    build = cli("build", "--bundle", str(full), "--max-seconds", str(SECONDS), "--workspace-gb", "8")
    report.add("full-size build", "ok" if build.returncode == 0 else "FAIL", tail(build.stdout + build.stderr, 1))
    if build.returncode:
        return 1
    ours = bench_tensorrt(full)
    report.add("benchmark", "ok", f"clip {ours['clip_s']:.3f} s")
    child = subprocess.run([sys.executable, __file__, "--diffusers-only", "--work", str(args.work)], cwd=ROOT,
                           capture_output=True, text=True)
    line = [ln for ln in child.stdout.splitlines() if ln.startswith("RESULT ")]
    theirs = json.loads(line[0][7:]) if line else None
    report.add("diffusers fp16 eager", "ok" if theirs else "FAIL",
               f"clip {theirs['clip_s']:.3f} s" if theirs else tail(child.stderr, 3))
    return _table(report, ours, theirs, table, tests.returncode == 0)


def _tiny_checkpoint(work: Path) -> Path:
    from export.tiny import make_tiny_checkpoint

    path = work / "tiny-checkpoint"
    return path if (path / "audioldm2").is_dir() else make_tiny_checkpoint(path)


def _table(report: Report, ours, theirs, fp16, tests_ok) -> int:
    card = "no GPU (dry run)"
    if ours:
        from engines.tensorrt_build import detect_gpu

        card = detect_gpu().name
    budget = f" of the {BUDGET_S} s budget" if ours else " (the budget is for the GPU run)"
    print(f"\n== art2mus GPU check: {card}; {report.elapsed():.0f} s{budget} ==")
    for step, result, detail in report.rows:
        print(f"  {step:<44} {result:<8} {detail[:150]}")
    failed = any(result == "FAIL" for _, result, _ in report.rows)
    if ours:
        print(f"\n  {'stage':<10} {'median ms':>10} {'p99 ms':>8}  provider")
        for stage, r in ours["stages"].items():
            print(f"  {stage:<10} {r['median_ms']:>10.2f} {r['p99_ms']:>8.2f}  {r['provider']}")
        rtf = ours["clip_s"] / SECONDS
        speedup = theirs["clip_s"] / ours["clip_s"] if theirs else float("nan")
        print(f"\n  {SECONDS} s clip, {STEPS} DPM++ steps: {ours['clip_s']:.3f} s (RTF {rtf:.4f}, target <= {TARGET_CLIP_S} s: "
              f"{'met' if ours['clip_s'] <= TARGET_CLIP_S else 'NOT met'}); diffusers fp16 eager "
              f"{theirs['clip_s'] if theirs else float('nan'):.3f} s: {speedup:.1f}x (target >= {TARGET_SPEEDUP:g}x: "
              f"{'met' if speedup >= TARGET_SPEEDUP else 'NOT met'}); waveform finite: {ours['finite']}")
    if ours and report.elapsed() > BUDGET_S:
        print(f"  over the {BUDGET_S} s budget")
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
