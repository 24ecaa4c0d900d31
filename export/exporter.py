"""Checkpoint folder -> model bundle: load, export the four stages, check parity, ship constants,
write the manifest. The bundle is assembled in a temporary folder beside OUT and moved into place
only when every stage passed parity, so a failed export never leaves a bundle that looks usable."""

from __future__ import annotations

import logging
import os
import platform
import shutil
import tempfile
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import onnxruntime as ort
import torch

from engines.bundle import FORMAT_VERSION, MANIFEST, file_sha256, write_manifest
from engines.errors import Art2MusError
from engines.preprocess import CLIP_MEAN, CLIP_STD, preprocess
from engines.specs import STAGES, stage_specs
from export.checkpoint import CheckpointPaths, LoadedCheckpoint, load_checkpoint
from export.conditioning import NEGATIVE_PROMPT, SUPPORT_PROMPT, compute_conditioning
from export.fp16 import FP16_TOLERANCE, activation_ranges, choose_variant
from export.onnx_export import OPSET, export_stage
from export.parity import ParityRow, compare, format_table
from export.quantize import quantize_unet, quantize_vocoder, unet_calibration, vocoder_calibration
from export.stages import reference

log = logging.getLogger(__name__)
TOLERANCE = 1e-4  # fp32 per stage, relative L2
INT8_TOLERANCE = {"unet": 1e-1, "vocoder": 2e-1}  # int8 variants: approximations for CPU kiosks, per stage
PARITY_FRAMES = (25, 32)  # one odd latent length (the UNet's upsample-size branch) and one even
MAX_SECONDS = 60.0


def example_image(size: int) -> np.ndarray:
    """A deterministic colourful test picture (gradients and a disc), preprocessed."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    disc = ((x - 0.6) ** 2 + (y - 0.4) ** 2 < 0.05).astype(np.float32)
    rgb = np.stack([x, y * (1 - disc) + disc, 1 - x * y], axis=2)
    return preprocess(rgb, size)


def _image_example(ck: LoadedCheckpoint) -> dict[str, np.ndarray]:
    """The example picture through the torch encoder and projector, once per export (ViT-H takes seconds)."""
    pixels = example_image(ck.dims.image_size)
    with torch.no_grad():
        embedding = reference(ck.stages["encoder"], {"pixels": pixels}).numpy()
        loa = reference(ck.stages["projector"], {"embedding": embedding}).numpy()
    return {"pixels": pixels, "embedding": embedding, "loa": loa}


def _examples(ck: LoadedCheckpoint, cond: dict, image: dict, frames: int, rng) -> dict[str, dict]:
    d = ck.dims
    lat = (d.latent_channels, frames, d.mel_bins // d.vae_scale_factor)
    return {
        "encoder": {"pixels": image["pixels"]},
        "projector": {"embedding": image["embedding"]},
        "unet": {
            "latents": rng.standard_normal((2, *lat), dtype=np.float32),
            "timestep": np.array([501], dtype=np.int64),
            "loa_tokens": np.concatenate([cond["negative_loa"], image["loa"]]).astype(np.float32),
            "t5_tokens": cond["t5_tokens"],
            "t5_mask": cond["t5_mask"],
        },
        "vocoder": {"latents": rng.standard_normal((1, *lat), dtype=np.float32)},
    }


def _parity(ck: LoadedCheckpoint, files: dict[str, Path], cond: dict, image: dict, tolerance: float,
            label: str = "") -> list[ParityRow]:
    """ORT on `files` (stage -> ONNX file) against the torch stage, at two latent lengths."""
    rows = []
    rng = np.random.default_rng(0)
    sessions = {s: ort.InferenceSession(str(f), providers=["CPUExecutionProvider"]) for s, f in files.items()}
    for frames in PARITY_FRAMES:
        for stage, feeds in _examples(ck, cond, image, frames, rng).items():
            if stage not in sessions or (stage in ("encoder", "projector") and frames != PARITY_FRAMES[0]):
                continue  # no length axis: once is enough
            ours = sessions[stage].run(None, feeds)[0]
            ref = reference(ck.stages[stage], feeds).numpy()
            name = stage + label + ("" if stage in ("encoder", "projector") else f"@{frames}")
            rows.append(compare(name, ours, ref, tolerance))
    return rows


def _int8_variants(ck: LoadedCheckpoint, onnx_dir: Path, cond: dict, image: dict) -> list[ParityRow]:
    """Quantizes the UNet and the vocoder (export/quantize.py) and checks each against PyTorch."""
    rng = np.random.default_rng(3)
    examples = _examples(ck, cond, image, 32, rng)
    files = {"unet": quantize_unet(onnx_dir, unet_calibration(examples["unet"], rng)),
             "vocoder": quantize_vocoder(onnx_dir, vocoder_calibration(examples["vocoder"], rng))}
    return [row for stage, f in files.items()
            for row in _parity(ck, {stage: f}, cond, image, INT8_TOLERANCE[stage], ".int8")]


def _fp16_variants(ck: LoadedCheckpoint, onnx_dir: Path, cond: dict, image: dict) -> dict:
    """An fp16 variant of every stage (export/fp16.py), checked against PyTorch fp32 on the CPU.
    Returns the manifest's per-stage precision table; a stage out of tolerance under every policy
    ships no fp16 file and its row says why."""
    rng = np.random.default_rng(5)
    probes = [_examples(ck, cond, image, frames, rng) for frames in PARITY_FRAMES]
    extra = {"unet": unet_calibration(probes[0]["unet"], rng)}  # the whole timestep range
    scopes = {"vocoder": ("vae",) if getattr(ck.parts.vae.config, "force_upcast", True) else ()}
    table = {}
    for stage in STAGES:
        src, dst = onnx_dir / f"{stage}.onnx", onnx_dir / f"{stage}.fp16.onnx"
        ranges = activation_ranges(src, [p[stage] for p in probes] + extra.get(stage, []))
        table[stage] = choose_variant(
            stage, src, dst, ranges, lambda path: _parity(ck, {stage: path}, cond, image, FP16_TOLERANCE, ".fp16"),
            scopes.get(stage, ()))
    return table


def format_fp16_table(table: dict) -> str:
    lines = [f"{'stage':<10} {'variant':<8} {'policy':<9} {'fp32 nodes':>11} {'worst rel L2':>13} {'rel max':>9}  note"]
    for stage, e in table.items():
        rows = e["parity"].values()
        l2, mx = max(r["rel_l2"] for r in rows), max(r["rel_max"] for r in rows)
        c = e["conversion"]
        lines.append(f"{stage:<10} {e['variant']:<8} {c['policy']:<9} {c['fp32_nodes']:>5}/{c['nodes']:<5} {l2:>13.2e} "
                     f"{mx:>9.2e}  {e['reason'] or ''}")
    return "\n".join(lines)


def _files_entry(root: Path, path: Path) -> dict:
    return {"file": str(path.relative_to(root)), "sha256": file_sha256(path)}


def _graph_entry(root: Path, name: str) -> dict:
    """An ONNX file and its external-data files, hashed."""
    data = sorted((root / "onnx").glob(f"{name}.onnx.*"))
    return {**_files_entry(root, root / "onnx" / f"{name}.onnx"), "data_files": [_files_entry(root, p) for p in data]}


def _stage_entry(root: Path, stage: str, spec) -> dict:
    entry = {**_graph_entry(root, stage), "inputs": [t.to_json() for t in spec.inputs],
             "outputs": [t.to_json() for t in spec.outputs]}
    variants = {v: _graph_entry(root, f"{stage}.{v}") for v in ("int8", "fp16")
                if (root / "onnx" / f"{stage}.{v}.onnx").exists()}
    if variants:
        entry["variants"] = variants
    return entry


def _manifest(root: Path, ck: LoadedCheckpoint, specs, rows, description: str, kind: str,
              fp16: dict | None = None) -> dict:
    p = ck.paths
    manifest = {
        "format_version": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": {
            "kind": kind,
            "description": description,
            "audioldm2": str(p.audioldm2),
            "encoder": {"kind": p.encoder_kind, "path": str(p.encoder)},
            "aligner": {"path": str(p.aligner), "sha256": file_sha256(p.aligner), "tokens": ck.stages["projector"].aligner.tokens},
        },
        "dims": asdict(ck.dims),
        "audio": {"sample_rate": int(ck.parts.vocoder.config.sampling_rate), "hop": ck.parts.hop},
        "preprocess": {"image_size": ck.dims.image_size, "mean": list(CLIP_MEAN), "std": list(CLIP_STD)},
        "stages": {s: _stage_entry(root, s, specs[s]) for s in STAGES},
        "constants": {n: _files_entry(root, root / "constants" / f"{n}.npy") for n in ("t5_tokens", "t5_mask", "negative_loa")},
        "conditioning": {"support_prompt": SUPPORT_PROMPT, "negative_prompt": NEGATIVE_PROMPT},
        "scheduler": ck.parts.scheduler_config,
        "defaults": {"guidance": 3.5, "steps": 25, "scheduler": "dpm", "seconds": 10.24},
        "limits": {"max_seconds": MAX_SECONDS},
        "parity": {r.stage: r.to_json() for r in rows},
        "versions": {"torch": torch.__version__, "onnx_opset": OPSET, "onnxruntime": ort.__version__,
                     "python": platform.python_version()},
    }
    if fp16 is not None:
        manifest["fp16"] = _manifest_fp16(fp16)
    return manifest


def _manifest_fp16(table: dict) -> dict:
    from importlib.metadata import version

    return {"converter": f"onnxconverter-common {version('onnxconverter-common')}",
            "checked_on": "onnxruntime CPUExecutionProvider against PyTorch fp32", "stages": table}


def export_steps(int8: bool, fp16: bool = False) -> int:
    """How many times export_bundle calls its `progress` callback (for a progress bar's total)."""
    return 3 + len(STAGES) + 1 + int(int8) + int(fp16) + 1


def check_out(out: Path) -> None:
    """--out may be a new folder, an empty one, or a bundle (replaced); anything else is refused
    before any work, so nobody's files are ever deleted."""
    if out.exists() and not out.is_dir():
        raise Art2MusError(f"--out {str(out)!r} is a file; give a folder for the bundle")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise Art2MusError(f"--out {str(out)!r} exists and is not a model bundle (no {MANIFEST}); nothing in it is "
                           "touched: choose a new folder, or empty it yourself")
    if out.resolve() in (Path.cwd().resolve(), Path.home().resolve(), Path("/")):
        raise Art2MusError(f"--out {str(out)!r} is the working, home or root folder; give a folder for the bundle")


def readable(root: Path) -> None:
    """Bundle files readable by the kiosk's service user (the quantiser and mkstemp write 0600)."""
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def replace_bundle(work: Path, out: Path) -> None:
    """Puts the finished bundle in place: a new or empty folder by rename; an old bundle is moved
    aside first and removed only once the new one is in place (a crash leaves one whole bundle)."""
    if not out.exists():
        work.rename(out)
        return
    if not any(out.iterdir()):
        out.rmdir()
        work.rename(out)
        return
    old = out.parent / f".{out.name}.replaced-{os.getpid()}"
    out.rename(old)
    work.rename(out)
    shutil.rmtree(old, ignore_errors=True)  # the bundle this export replaced, and only that


def export_bundle(paths: CheckpointPaths, out: Path, description: str = "", kind: str = "checkpoint",
                  int8: bool = True, progress: Callable[[str], None] | None = None,
                  fp16: bool = False) -> list[ParityRow]:
    """Exports and returns the parity rows; raises Art2MusError (and leaves OUT untouched) on a parity failure.
    `progress(step)` is called as each step starts (export_steps(int8, fp16) calls in all). `fp16` adds
    the mixed-precision variants for GPUs; one out of tolerance stays fp32 (the manifest's fp16 table
    says why) and does not fail the export."""
    step = progress or (lambda name: None)
    check_out(out)
    step("load checkpoint")
    ck = load_checkpoint(paths)
    specs = stage_specs(ck.dims)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    work.chmod(0o755)  # mkdtemp makes it private; a bundle is read by the kiosk's service user
    try:
        (work / "onnx").mkdir()
        (work / "constants").mkdir()
        step("conditioning")
        cond = compute_conditioning(ck.parts, ck.new_tokens).arrays()
        for name, array in cond.items():
            np.save(work / "constants" / f"{name}.npy", array)
        step("examples")
        image = _image_example(ck)
        examples = _examples(ck, cond, image, PARITY_FRAMES[0], np.random.default_rng(1))
        for stage in STAGES:
            step(f"export {stage}")
            export_stage(ck.stages[stage], specs[stage], examples[stage], work / "onnx" / f"{stage}.onnx")
        step("parity")
        rows = _parity(ck, {s: work / "onnx" / f"{s}.onnx" for s in STAGES}, cond, image, TOLERANCE)
        if int8:
            step("int8 variants")
            rows += _int8_variants(ck, work / "onnx", cond, image)
        table = format_table(rows)
        log.info("parity, ONNX Runtime vs PyTorch:\n%s", table)
        if not all(r.ok for r in rows):
            raise Art2MusError(f"export failed parity (ONNX Runtime vs PyTorch):\n{table}\nno bundle was written to {out}")
        precision = None
        if fp16:
            step("fp16 variants")
            precision = _fp16_variants(ck, work / "onnx", cond, image)
            log.info("fp16 variants, ONNX Runtime CPU vs PyTorch fp32:\n%s", format_fp16_table(precision))
        step("manifest")
        write_manifest(work, _manifest(work, ck, specs, rows, description or str(paths.audioldm2), kind, precision))
        readable(work)
        replace_bundle(work, out)
        return rows
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def add_fp16_variants(root: Path, paths: CheckpointPaths) -> dict:
    """Adds the fp16 variants to an fp32 bundle exported from `paths` (the same checkpoint), in place:
    the fp16 files first, the manifest last (atomically). Returns the fp16 table."""
    from engines.bundle import load_bundle

    bundle = load_bundle(root)
    ck = load_checkpoint(paths)
    cond = dict(bundle.constants)
    precision = _fp16_variants(ck, root / "onnx", cond, _image_example(ck))
    manifest = dict(bundle.manifest)
    stages = {}
    for stage in STAGES:
        entry = {k: v for k, v in manifest["stages"][stage].items() if k != "variants"}
        variants = {k: v for k, v in manifest["stages"][stage].get("variants", {}).items() if k != "fp16"}
        if (root / "onnx" / f"{stage}.fp16.onnx").exists():
            variants["fp16"] = _graph_entry(root, f"{stage}.fp16")
        stages[stage] = {**entry, **({"variants": variants} if variants else {})}
    manifest["stages"] = stages
    manifest["fp16"] = _manifest_fp16(precision)
    write_manifest(root, manifest)
    return precision


def export_tiny_bundle(out: Path, seed: int = 0, int8: bool = True,
                       progress: Callable[[str], None] | None = None, fp16: bool = False) -> list[ParityRow]:
    """The tiny random-weight checkpoint, built into a temp folder, through the same code path."""
    from export.checkpoint import locate
    from export.tiny import make_tiny_checkpoint

    with tempfile.TemporaryDirectory(prefix="art2mus-tiny-") as tmp:
        folder = make_tiny_checkpoint(Path(tmp), seed)
        return export_bundle(locate(folder), out, description=f"tiny random weights, seed {seed}", kind="tiny",
                             int8=int8, progress=progress, fp16=fp16)
