"""Picks and loads the backend that runs the bundle's stages."""

from __future__ import annotations

import logging
from pathlib import Path

from engines.bundle import Bundle
from engines.engine import Engine
from engines.errors import Art2MusError
from engines.specs import STAGES

log = logging.getLogger(__name__)

BACKENDS = ("auto", "onnxruntime", "tensorrt")


def int8_stages(bundle: Bundle, wanted: tuple[str, ...], on_cpu: bool) -> set[str]:
    """The stages that run their int8 variant: those asked for, when the stages run on the CPU."""
    for stage in wanted:
        if stage not in STAGES:
            raise Art2MusError(f"model.int8_stages lists {stage!r}; stages are {', '.join(STAGES)}")
        if "int8" not in bundle.variants(stage):
            raise Art2MusError(f"model.int8_stages lists {stage!r} but bundle {bundle.root} has no int8 {stage}; "
                               f"re-export without --no-int8, or remove {stage!r} from model.int8_stages")
    if wanted and not on_cpu:
        log.warning("int8 variants are for the CPU; %s run in fp32 on this GPU provider", ", ".join(wanted))
        return set()
    if wanted:
        log.info("int8 variants on CPU for %s (export parity %s)", ", ".join(wanted),
                 {k: round(v["rel_l2"], 4) for k, v in bundle.manifest.get("parity", {}).items() if ".int8" in k})
    return set(wanted)


def choose_backend(bundle: Bundle, backend: str = "auto") -> tuple[str, str]:
    """(backend, why) for this box: `auto` takes TensorRT when every stage has an engine built here that
    matches this box and bundle, else onnxruntime (whose providers then go TensorRT EP, CUDA EP, CPU).
    `why` is one line for logs, status and doctor."""
    if backend not in BACKENDS:
        raise Art2MusError(f"model.backend={backend!r} is unknown; choose one of: {', '.join(BACKENDS)}")
    if backend != "auto":
        return backend, f"model.backend is {backend}"
    from engines.tensorrt_backend import engine_folder, engines_status

    box, why_not = engines_status(bundle)
    if why_not is None:
        return "tensorrt", f"TensorRT engines for {box.gpu.name} in {engine_folder(bundle, box)} match this box"
    return "onnxruntime", f"no usable TensorRT engines: {why_not}"


def load_engines(bundle: Bundle, backend: str = "auto", provider: str = "auto", threads: int = 0,
                 int8: tuple[str, ...] = (), cache_dir: Path | None = None) -> dict[str, Engine]:
    """`cache_dir`: where ONNX Runtime's TensorRT EP keeps its engines (under the bundle's fingerprint)."""
    chosen, why = choose_backend(bundle, backend)
    if backend == "auto":
        mismatch = chosen == "onnxruntime" and "rebuild" in why  # engines exist but are stale: say so louder
        log.log(logging.WARNING if mismatch else logging.INFO, "backend auto: %s; using %s", why, chosen)
    if chosen == "tensorrt":
        from engines.tensorrt_backend import load_tensorrt_engines

        if int8:
            log.warning("model.int8_stages (%s) are for CPU kiosks; TensorRT runs the bundle's GPU variants",
                        ", ".join(int8))
        engines = load_tensorrt_engines(bundle)
        log.info("stages on %s", ", ".join(f"{s}={e.provider}" for s, e in engines.items()))
        return engines
    from engines.onnxruntime_backend import PROVIDERS, OnnxRuntimeEngine, choose_providers, tensorrt_provider_options

    providers = choose_providers(provider)
    quantized = int8_stages(bundle, tuple(int8), on_cpu=providers[0] == "CPUExecutionProvider")
    variant = {s: ("int8" if s in quantized else None) for s in STAGES}
    trt = {}
    if providers[0] == PROVIDERS["tensorrt"]:
        from engines.tensorrt_build import profile_shapes

        folder = (cache_dir or Path.home() / ".cache" / "art2mus") / "ort-tensorrt" / bundle.fingerprint
        trt = {s: tensorrt_provider_options(profile_shapes(bundle, s), folder / s) for s in STAGES}
        log.info("onnxruntime TensorRT EP: engine and timing cache in %s", folder)
    engines = {s: OnnxRuntimeEngine(bundle.specs[s], bundle.stage_path(s, variant[s]), providers, threads, variant[s],
                                    trt.get(s)) for s in STAGES}
    log.info("stages on %s", ", ".join(f"{s}={e.provider}" for s, e in engines.items()))
    return engines
