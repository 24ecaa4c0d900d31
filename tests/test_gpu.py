"""The exported model on a GPU through ONNX Runtime's CUDA provider: every stage really runs there
(no silent fall-back to the CPU) and the waveform equals the CPU provider's. Skipped, with the
reason, where this onnxruntime build or this machine has no CUDA."""

import numpy as np
import onnxruntime as ort
import pytest

from engines.options import GenerationOptions
from engines.pipeline import Art2MusPipeline

pytestmark = pytest.mark.gpu
if "CUDAExecutionProvider" not in ort.get_available_providers():
    pytest.skip("no CUDAExecutionProvider in this onnxruntime build: needs onnxruntime-gpu on a CUDA machine",
                allow_module_level=True)


def test_cuda_provider_runs_every_stage_and_matches_the_cpu(tiny_bundle):
    picture = np.random.default_rng(3).random((200, 260, 3)).astype(np.float32)
    cpu = Art2MusPipeline.load(tiny_bundle, provider="cpu")
    gpu = Art2MusPipeline.load(tiny_bundle, provider="cuda")
    assert {stage: engine.provider for stage, engine in gpu.engines.items()} == {
        stage: "CUDAExecutionProvider" for stage in gpu.engines}
    want = cpu.generate(cpu.pixels(picture), GenerationOptions(1.0, 5, 3.5, seed=11), clips=2)
    got = gpu.generate(gpu.pixels(picture), GenerationOptions(1.0, 5, 3.5, seed=11), clips=2)
    for w, g in zip(want, got):
        assert np.linalg.norm(g - w) / np.linalg.norm(w) < 1e-3
