"""ONNX Runtime backend: one InferenceSession per stage, providers from config.

`auto` takes TensorRT EP, then CUDA EP, then CPU, among what this onnxruntime build offers, and
logs the choice (a CPU fallback on a box that has a GPU build is a warning, never silent).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnxruntime as ort

from engines.engine import Engine
from engines.errors import Art2MusError
from engines.specs import StageSpec

log = logging.getLogger(__name__)

PROVIDERS = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
AUTO_ORDER = ("tensorrt", "cuda", "cpu")


def choose_providers(preference: str) -> list[str]:
    """Maps a config preference ('auto', 'tensorrt', 'cuda', 'cpu') to an ORT provider list."""
    available = ort.get_available_providers()
    if preference == "auto":
        chosen = [PROVIDERS[k] for k in AUTO_ORDER if PROVIDERS[k] in available]
        if chosen[0] == PROVIDERS["cpu"]:
            log.info("onnxruntime: no GPU execution provider in this build; running on CPU")
        return chosen
    if preference not in PROVIDERS:
        raise Art2MusError(
            f"onnxruntime provider {preference!r} is unknown; choose one of: auto, {', '.join(PROVIDERS)}"
        )
    wanted = PROVIDERS[preference]
    if wanted not in available:
        raise Art2MusError(
            f"onnxruntime provider {preference!r} ({wanted}) is not in this onnxruntime build "
            f"(available: {', '.join(available)}); install onnxruntime-gpu (pip install '.[gpu]') or set "
            "model.provider: auto"
        )
    return [wanted] if wanted == PROVIDERS["cpu"] else [wanted, PROVIDERS["cpu"]]


def _shape_list(shapes: dict[str, list[list[int]]], which: int) -> str:
    return ",".join(f"{name}:{'x'.join(map(str, dims[which]))}" for name, dims in shapes.items())


def tensorrt_provider_options(profiles: dict[str, list[list[int]]], cache_dir: Path) -> dict[str, str]:
    """ONNX Runtime's TensorRT EP options for one stage: an engine and timing cache folder (engines are
    built once per box, not at every start) and the explicit profile (min/opt/max shapes) that
    `art2mus build` uses too."""
    return {
        "trt_engine_cache_enable": "True", "trt_engine_cache_path": str(cache_dir),
        "trt_timing_cache_enable": "True", "trt_timing_cache_path": str(cache_dir),
        "trt_profile_min_shapes": _shape_list(profiles, 0), "trt_profile_opt_shapes": _shape_list(profiles, 1),
        "trt_profile_max_shapes": _shape_list(profiles, 2),
    }


class OnnxRuntimeEngine(Engine):
    def __init__(self, spec: StageSpec, path: Path, providers: list[str], threads: int = 0, variant: str | None = None,
                 tensorrt_options: dict[str, str] | None = None):
        super().__init__(spec)
        if tensorrt_options and providers[0] == PROVIDERS["tensorrt"]:
            Path(tensorrt_options["trt_engine_cache_path"]).mkdir(parents=True, exist_ok=True)
            providers = [(providers[0], tensorrt_options), *providers[1:]]
        self.variant = variant
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
        except Exception as exc:  # ORT raises its own exception types for bad graphs
            raise Art2MusError(
                f"{spec.name}: onnxruntime could not load {path}: {exc}. Re-export the bundle with `art2mus export`"
            ) from exc
        used = self.session.get_providers()
        asked = providers[0][0] if isinstance(providers[0], tuple) else providers[0]
        if used[0] != asked:
            log.warning("%s: asked for %s but onnxruntime runs it on %s", spec.name, asked, used[0])
        self._provider = used[0]
        self._check_io()

    def _check_io(self) -> None:
        names = [i.name for i in self.session.get_inputs()]
        if names != self.spec.input_names:
            raise Art2MusError(
                f"{self.spec.name}: ONNX inputs {names} differ from the stage spec {self.spec.input_names}; "
                "the bundle was exported by another art2mus version: re-export it"
            )

    @property
    def provider(self) -> str:
        return f"{self._provider} ({self.variant})" if self.variant else self._provider

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = self.session.run(self.spec.output_names, feeds)
        return dict(zip(self.spec.output_names, outputs))
