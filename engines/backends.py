"""Picks and loads the backend that runs the bundle's stages."""

from __future__ import annotations

import logging

from engines.bundle import Bundle
from engines.engine import Engine
from engines.errors import Art2MusError
from engines.specs import STAGES

log = logging.getLogger(__name__)

BACKENDS = ("auto", "onnxruntime", "tensorrt")


def load_engines(bundle: Bundle, backend: str = "auto", provider: str = "auto", threads: int = 0) -> dict[str, Engine]:
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
    engines = {s: OnnxRuntimeEngine(bundle.specs[s], bundle.stage_path(s), providers, threads) for s in STAGES}
    log.info("stages on %s", ", ".join(f"{s}={e.provider}" for s, e in engines.items()))
    return engines
