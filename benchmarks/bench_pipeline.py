"""Full-size speed of the model path on this machine: PyTorch eager (the diffusers reference loop)
against the project's ONNX Runtime pipeline, per stage and for a whole clip, with peak memory,
real-time factor and the quality cost of the int8 UNet.

Random weights with the real dimensions of MODEL.md (ImageBind ViT-H/14, aligner 1024->1536->3072,
GPT-2 768x12, AudioLDM 2 UNet 347 M, VAE [128, 256, 512], HiFi-GAN 1024). Each variant runs in its
own process so its peak RSS is its own. Not a test: it takes tens of minutes and ~10 GB.

    python3 benchmarks/bench_pipeline.py --work /tmp/art2mus-bench [--steps 25] [--seconds 10.24]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

T5_LENGTH = 9  # tokens of "Music representing the content of this artwork" in FLAN-T5
VARIANTS = ("torch", "ort", "ort-int8", "ort-int8-all")
INT8 = {"torch": (), "ort": (), "ort-int8": ("unet",), "ort-int8-all": ("unet", "vocoder")}  # as model.int8_stages


def build_stages(seed: int = 0):
    """Full-size random stage modules, deterministic for a seed (rebuilt identically in each process)."""
    import torch
    from diffusers import AutoencoderKL
    from diffusers.pipelines.audioldm2.modeling_audioldm2 import AudioLDM2UNet2DConditionModel
    from transformers import GPT2Config, GPT2Model, SpeechT5HifiGan, SpeechT5HifiGanConfig

    from export.aligner import ImageAligner
    from export.imagebind import ImageBindVision, VisionConfig
    from export.stages import EncoderStage, ProjectorStage, UNetStage, VocoderStage

    torch.manual_seed(seed)
    encoder = ImageBindVision(VisionConfig(width=1280, depth=32, heads=16, mlp=5120, out_dim=1024, patch=14, frames=2,
                                           image_size=224))
    gpt = GPT2Model(GPT2Config(n_embd=768, n_layer=12, n_head=12))
    unet = AudioLDM2UNet2DConditionModel(
        block_out_channels=(128, 256, 384, 640), layers_per_block=2, in_channels=8, out_channels=8,
        down_block_types=("DownBlock2D",) + ("CrossAttnDownBlock2D",) * 3,
        up_block_types=("CrossAttnUpBlock2D",) * 3 + ("UpBlock2D",),
        cross_attention_dim=[[None, 768, 1024]] * 4, attention_head_dim=8, sample_size=256)
    vae = AutoencoderKL(block_out_channels=[128, 256, 512], in_channels=1, out_channels=1, latent_channels=8,
                        down_block_types=["DownEncoderBlock2D"] * 3, up_block_types=["UpDecoderBlock2D"] * 3,
                        layers_per_block=2, scaling_factor=0.4110932946205139)
    vocoder = SpeechT5HifiGan(SpeechT5HifiGanConfig(
        model_in_dim=64, sampling_rate=16000, upsample_initial_channel=1024, upsample_rates=[5, 4, 2, 2, 2],
        upsample_kernel_sizes=[16, 16, 8, 4, 4], resblock_kernel_sizes=[3, 7, 11],
        resblock_dilation_sizes=[[1, 3, 5]] * 3, normalize_before=False))
    stages = {
        "encoder": EncoderStage(encoder), "projector": ProjectorStage(ImageAligner(1024, 1536, 4, 768), gpt, 8),
        "unet": UNetStage(unet), "vocoder": VocoderStage(vae, vocoder),
    }
    for s in stages.values():
        s.eval()
    return stages


def dims():
    from engines.specs import ModelDims

    return ModelDims(image_size=224, embedding_dim=1024, loa_dim=768, loa_tokens=8, t5_dim=1024, latent_channels=8,
                     mel_bins=64, vae_scale_factor=4)


def constants():
    rng = np.random.default_rng(1)
    return {"t5_tokens": rng.standard_normal((2, T5_LENGTH, 1024), dtype=np.float32) * 0.1,
            "t5_mask": np.ones((2, T5_LENGTH), np.int64),
            "negative_loa": rng.standard_normal((1, 8, 768), dtype=np.float32)}


SCHEDULER = dict(num_train_timesteps=1000, beta_start=0.0015, beta_end=0.0195, beta_schedule="scaled_linear",
                 clip_sample=False, set_alpha_to_one=False, steps_offset=1, timestep_spacing="leading",
                 prediction_type="epsilon")


def export_all(work: Path) -> None:
    from engines.specs import stage_specs
    from export.exporter import example_image
    from export.onnx_export import export_stage

    onnx_dir = work / "onnx"
    onnx_dir.mkdir(parents=True, exist_ok=True)
    stages, specs, c = build_stages(), stage_specs(dims()), constants()
    rng = np.random.default_rng(2)
    examples = {
        "encoder": {"pixels": example_image(224)},
        "projector": {"embedding": rng.standard_normal((1, 1024), dtype=np.float32)},
        "unet": {"latents": rng.standard_normal((2, 8, 25, 16), dtype=np.float32), "timestep": np.array([501]),
                 "loa_tokens": rng.standard_normal((2, 8, 768), dtype=np.float32), "t5_tokens": c["t5_tokens"],
                 "t5_mask": c["t5_mask"]},
        "vocoder": {"latents": rng.standard_normal((1, 8, 25, 16), dtype=np.float32)},
    }
    for name, stage in stages.items():
        path = onnx_dir / f"{name}.onnx"
        if path.exists():
            print(f"export: {path} exists, reused")
            continue
        seconds = export_stage(stage, specs[name], examples[name], path)
        print(f"export: {name} {seconds:.1f} s")
    from export.quantize import quantize_unet, quantize_vocoder, unet_calibration, vocoder_calibration

    calib = {k: {**examples[k], "latents": examples[k]["latents"][:, :, :16]} for k in ("unet", "vocoder")}
    for name, quantize, feeds in (("unet", quantize_unet, unet_calibration), ("vocoder", quantize_vocoder,
                                                                               vocoder_calibration)):
        if not (onnx_dir / f"{name}.int8.onnx").exists():
            start = time.perf_counter()
            quantize(onnx_dir, feeds(calib[name], rng))
            print(f"export: {name} int8 (export/quantize.py) {time.perf_counter() - start:.1f} s")


def _timed(fn, repeat: int):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return out, float(np.median(times))


def run_torch(args) -> dict:
    import torch
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

    from export.exporter import example_image

    torch.set_num_threads(args.threads)
    stages, c = build_stages(), constants()
    pixels = torch.from_numpy(example_image(224))
    frames = _latent_frames(args.seconds)
    lat0 = torch.from_numpy(np.random.default_rng(args.seed).standard_normal((1, 8, frames, 16), dtype=np.float32))
    t5, mask, neg = (torch.from_numpy(c[k]) for k in ("t5_tokens", "t5_mask", "negative_loa"))
    per_stage = {}
    with torch.no_grad():
        emb, per_stage["encoder"] = _timed(lambda: stages["encoder"](pixels), 2)
        loa, per_stage["projector"] = _timed(lambda: stages["projector"](emb), 2)
        loa2 = torch.cat([neg, loa])
        _, per_stage["unet"] = _timed(lambda: stages["unet"](torch.cat([lat0, lat0]), torch.tensor([501]), loa2, t5, mask), 2)
        _, per_stage["vocoder"] = _timed(lambda: stages["vocoder"](lat0), 1)

        def clip():
            sched = DPMSolverMultistepScheduler.from_config(DDIMScheduler(**SCHEDULER).config)
            sched.set_timesteps(args.steps)
            lat = lat0.clone()
            for t in sched.timesteps:  # AudioLDM2Pipeline's loop
                noise = stages["unet"](torch.cat([lat, lat]), t, loa2, t5, mask)
                u, cnd = noise.chunk(2)
                lat = sched.step(u + 3.5 * (cnd - u), t, lat).prev_sample
            e = stages["encoder"](pixels)
            stages["projector"](e)  # counted in the clip as in a kiosk (image -> clip)
            return stages["vocoder"](lat)[0, : int(args.seconds * 16000)].numpy(), lat.numpy()

        start = time.perf_counter()
        wave, lat = clip()
        total = time.perf_counter() - start
    return _report(args, per_stage, total, wave, lat)


def _latent_frames(seconds: float) -> int:
    mel = int(seconds / 0.01)
    return -(-mel // 4) * 4 // 4


def run_ort(args, int8: tuple[str, ...]) -> dict:
    from engines.bundle import AudioFormat, Bundle
    from engines.onnxruntime_backend import OnnxRuntimeEngine
    from engines.pipeline import Art2MusPipeline
    from engines.specs import stage_specs
    from export.exporter import example_image

    onnx_dir = args.work / "onnx"
    specs = stage_specs(dims())
    start = time.perf_counter()
    engines = {s: OnnxRuntimeEngine(specs[s], onnx_dir / (f"{s}.int8.onnx" if s in int8 else f"{s}.onnx"),
                                    ["CPUExecutionProvider"], args.threads) for s in specs}
    load_seconds = time.perf_counter() - start
    manifest = {"scheduler": SCHEDULER, "limits": {"max_seconds": 60}, "preprocess": {"mean": None, "std": None}}
    bundle = Bundle(args.work, manifest, dims(), AudioFormat(16000, 160), specs, constants())
    pipe = Art2MusPipeline(bundle, engines)
    pixels = example_image(224)
    shape = pipe.clip_shape(args.seconds)
    lat0 = np.random.default_rng(args.seed).standard_normal((1, 8, shape.latent_frames, 16), dtype=np.float32)
    c = bundle.constants
    per_stage = {}
    emb, per_stage["encoder"] = _timed(lambda: pipe.embed(pixels), 2)
    loa, per_stage["projector"] = _timed(lambda: pipe.loa_tokens(emb), 2)
    feeds = {"latents": np.concatenate([lat0, lat0]), "timestep": np.array([501]),
             "loa_tokens": np.concatenate([c["negative_loa"], loa]), "t5_tokens": c["t5_tokens"], "t5_mask": c["t5_mask"]}
    _, per_stage["unet"] = _timed(lambda: engines["unet"].run(feeds), 2)
    _, per_stage["vocoder"] = _timed(lambda: pipe.decode(lat0, shape.samples), 1)
    start = time.perf_counter()
    lat = pipe.denoise(loa, lat0, args.steps, 3.5, "dpm")
    pipe.loa_tokens(pipe.embed(pixels))
    wave = pipe.decode(lat, shape.samples)
    total = time.perf_counter() - start
    report = _report(args, per_stage, total, wave, lat)
    report["load_seconds"] = load_seconds
    return report


def _report(args, per_stage, total, wave, lat) -> dict:
    out = args.work / f"result-{args.run}"
    np.save(f"{out}-wave.npy", wave)
    np.save(f"{out}-latents.npy", lat)
    return {"variant": args.run, "per_stage": per_stage, "clip_seconds": total, "peak_rss_gb": _peak_rss_gb(),
            "load": os.getloadavg()}


def _peak_rss_gb() -> float:
    """This process's own peak (VmHWM); ru_maxrss would carry the parent's peak across exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1e6
    return float("nan")


def others_cpu() -> str:
    """Other processes' CPU share beside a figure: on 2 shared cores they distort timings."""
    ps = subprocess.run(["ps", "-eo", "pcpu,comm", "--sort=-pcpu"], capture_output=True, text=True).stdout.splitlines()
    return "; ".join(line.strip() for line in ps[1:4])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/art2mus-bench"))
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--seconds", type=float, default=10.24)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--run", choices=VARIANTS, help=argparse.SUPPRESS)  # one variant, in a child process
    args = parser.parse_args()
    if args.run:
        report = run_torch(args) if args.run == "torch" else run_ort(args, INT8[args.run])
        print("RESULT " + json.dumps(report))
        return 0
    export_all(args.work)
    results = {}
    for variant in args.variants.split(","):
        cmd = [sys.executable, __file__, "--run", variant, "--work", str(args.work), "--steps", str(args.steps),
               "--seconds", str(args.seconds), "--threads", str(args.threads), "--seed", str(args.seed)]
        print(f"running {variant} ... (others: {others_cpu()})", flush=True)
        out = subprocess.run(cmd, capture_output=True, text=True)
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
        if out.returncode or not line:
            print(out.stderr[-3000:])
            return 1
        results[variant] = json.loads(line[0][7:])
    print_table(args, results)
    return 0


def print_table(args, results: dict) -> None:
    ref = results.get("torch")
    print(f"\n{args.seconds} s clip, {args.steps} DPM-Solver++ steps, {args.threads} threads, batch 2 guidance")
    print(f"{'variant':<10} {'encoder':>8} {'projector':>9} {'unet/step':>9} {'vocoder':>8} {'clip s':>8} "
          f"{'RTF':>6} {'vs torch':>8} {'peak GB':>8}  clip rel.L2 vs torch (wave / latents)")
    for name, r in results.items():
        p = r["per_stage"]
        ratio = r["clip_seconds"] / ref["clip_seconds"] if ref else float("nan")
        err = ""
        if ref and name != "torch":
            err = " / ".join(f"{_rel(args.work, name, 'torch', k):.1e}" for k in ("wave", "latents"))
        print(f"{name:<10} {p['encoder']:>8.2f} {p['projector']:>9.2f} {p['unet']:>9.2f} {p['vocoder']:>8.2f} "
              f"{r['clip_seconds']:>8.1f} {r['clip_seconds'] / args.seconds:>6.2f} {ratio:>8.2f} "
              f"{r['peak_rss_gb']:>8.2f}  {err}")
    print(f"load average during the runs: {[tuple(round(x, 2) for x in r['load']) for r in results.values()]}")


def _rel(work: Path, a: str, b: str, kind: str) -> float:
    x, y = (np.load(work / f"result-{v}-{kind}.npy").astype(np.float64) for v in (a, b))
    return float(np.linalg.norm(x - y) / np.linalg.norm(y))


if __name__ == "__main__":
    sys.exit(main())
