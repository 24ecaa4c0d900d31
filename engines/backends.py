"""Picks and loads the backend that runs the bundle's stages."""

from __future__ import annotations

import logging

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


def load_engines(bundle: Bundle, backend: str = "auto", provider: str = "auto", threads: int = 0,
                 int8: tuple[str, ...] = ()) -> dict[str, Engine]:
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
    quantized = int8_stages(bundle, tuple(int8), on_cpu=providers[0] == "CPUExecutionProvider")
    variant = {s: ("int8" if s in quantized else None) for s in STAGES}
    engines = {s: OnnxRuntimeEngine(bundle.specs[s], bundle.stage_path(s, variant[s]), providers, threads, variant[s])
               for s in STAGES}
    log.info("stages on %s", ", ".join(f"{s}={e.provider}" for s, e in engines.items()))
    return engines
