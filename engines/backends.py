"""Picks and loads the backend that runs the bundle's stages."""

from __future__ import annotations

import logging

from engines.bundle import Bundle
from engines.engine import Engine
from engines.errors import Art2MusError
from engines.specs import STAGES

log = logging.getLogger(__name__)

BACKENDS = ("auto", "onnxruntime", "tensorrt")
UNET_PRECISIONS = ("auto", "fp32", "int8")


def unet_variant(bundle: Bundle, precision: str, on_cpu: bool) -> str | None:
    """`auto` takes the dynamic-int8 UNet when the UNet runs on the CPU and the bundle has one."""
    if precision not in UNET_PRECISIONS:
        raise Art2MusError(f"model.unet_precision={precision!r} is unknown; choose one of: {', '.join(UNET_PRECISIONS)}")
    has_int8 = "int8" in bundle.variants("unet")
    if precision == "int8":
        if not has_int8:
            raise Art2MusError(f"model.unet_precision='int8' but bundle {bundle.root} has no int8 UNet; re-export it "
                               "without --no-int8-unet, or set model.unet_precision: fp32")
        if not on_cpu:
            raise Art2MusError("model.unet_precision='int8' is the CPU variant (dynamic int8 MatMul); with a GPU "
                               "provider set model.unet_precision: fp32 or auto")
        return "int8"
    if precision == "auto" and on_cpu and has_int8:
        log.info("unet: dynamic-int8 variant on CPU (model.unet_precision auto; parity %s)",
                 {k: v["rel_l2"] for k, v in bundle.manifest.get("parity", {}).items() if ".int8" in k})
        return "int8"
    if precision == "auto" and on_cpu:
        log.warning("unet: bundle %s has no int8 UNet; running the slower fp32 UNet on CPU", bundle.root)
    return None


def load_engines(bundle: Bundle, backend: str = "auto", provider: str = "auto", threads: int = 0,
                 unet_precision: str = "auto") -> dict[str, Engine]:
    if backend not in BACKENDS:
        raise Art2MusError(f"model.backend={backend!r} is unknown; choose one of: {', '.join(BACKENDS)}")
    if backend == "tensorrt":
        raise Art2MusError(
            "model.backend='tensorrt' needs TensorRT engines built for this GPU (`art2mus build`), which this "
            "version does not build yet; set model.backend: onnxruntime (or auto)"
        )
    if backend == "auto":
        log.info("backend auto: no TensorRT engines in %s for this box; using onnxruntime", bundle.root)
    from engines.onnxruntime_backend import OnnxRuntimeEngine, choose_providers

    providers = choose_providers(provider)
    variant = unet_variant(bundle, unet_precision, on_cpu=providers[0] == "CPUExecutionProvider")
    engines = {s: OnnxRuntimeEngine(bundle.specs[s], bundle.stage_path(s, variant if s == "unet" else None), providers,
                                    threads, variant if s == "unet" else None) for s in STAGES}
    log.info("stages on %s", ", ".join(f"{s}={e.provider}" for s, e in engines.items()))
    return engines
