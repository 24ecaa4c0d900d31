"""The ONNX Runtime pipeline: shapes, determinism, argument checks, and a broken graph's NaN."""

import json
import shutil

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from engines.bundle import file_sha256
from engines.errors import Art2MusError
from engines.options import GenerationOptions
from engines.pipeline import Art2MusPipeline


@pytest.fixture(scope="module")
def pixels(pipeline):
    return pipeline.pixels(np.random.default_rng(0).random((120, 90, 3), dtype=np.float32))


def test_clip_length_and_determinism(pipeline, pixels):
    a = pipeline.generate(pixels, GenerationOptions(0.73, 3, 3.5, seed=11), clips=2)
    b = pipeline.generate(pixels, GenerationOptions(0.73, 3, 3.5, seed=11))
    assert [w.shape for w in a] == [(11680,), (11680,)]
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], a[1])  # clip k uses seed + k
    assert all(np.isfinite(w).all() and np.abs(w).max() > 0 for w in a)


def test_latent_shape_follows_audioldm2(pipeline):
    # 10.24 s -> 1024 mel frames -> 256 latent frames; 0.07 s -> 7 frames -> rounded up to 8 -> 2
    assert pipeline.clip_shape(10.24).latent_frames == 256
    assert pipeline.clip_shape(0.07).latent_frames == 2
    assert pipeline.clip_shape(1.0).samples == 16000


@pytest.mark.parametrize("seconds", [0, -1, 0.01, float("nan"), 61])
def test_bad_seconds(pipeline, seconds):
    with pytest.raises(Art2MusError, match="seconds="):
        pipeline.clip_shape(seconds)


def test_bad_steps_and_guidance(pipeline, pixels):
    with pytest.raises(Art2MusError, match="steps=0"):
        GenerationOptions(0.5, 0, 3.5, seed=0)
    with pytest.raises(Art2MusError, match="guidance=0.5"):
        GenerationOptions(0.5, 2, 0.5, seed=0)
    with pytest.raises(Art2MusError, match="guidance=0.5"):
        pipeline.denoise(pipeline.condition(pixels), pipeline.initial_latents(0, pipeline.clip_shape(0.5)), 2, 0.5, "dpm")


def _poison_vocoder(bundle):
    """A real broken graph: the vocoder's waveform multiplied by NaN, re-hashed as an export would."""
    path = bundle / "onnx" / "vocoder.onnx"
    model = onnx.load(str(path), load_external_data=False)
    graph = model.graph
    out = graph.output[0].name
    for node in graph.node:
        node.output[:] = [f"{o}_pre" if o == out else o for o in node.output]
    graph.initializer.append(helper.make_tensor("nan", TensorProto.FLOAT, [], [float("nan")]))
    graph.node.append(helper.make_node("Mul", [f"{out}_pre", "nan"], [out]))
    onnx.save(model, str(path))
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["stages"]["vocoder"]["sha256"] = file_sha256(path)
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def test_nan_waveform_is_an_error(tmp_path, tiny_bundle, pixels):
    bundle = shutil.copytree(tiny_bundle, tmp_path / "b")
    _poison_vocoder(bundle)
    broken = Art2MusPipeline.load(bundle)
    with pytest.raises(Art2MusError, match="NaN/inf"):
        broken.generate(pixels, GenerationOptions(0.5, 2, 3.5, seed=0))


def test_unknown_backend_and_provider(tiny_bundle):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime build has CUDA: the missing-provider error cannot happen here")
    with pytest.raises(Art2MusError, match="backend='tflite'"):
        Art2MusPipeline.load(tiny_bundle, backend="tflite")
    with pytest.raises(Art2MusError, match="provider 'cuda'.*not in this onnxruntime build"):
        Art2MusPipeline.load(tiny_bundle, provider="cuda")


def test_int8_variants_run_when_asked_and_stay_close(tiny_bundle, pipeline, pixels):
    int8 = Art2MusPipeline.load(tiny_bundle, int8=("unet", "vocoder"))
    assert int8.engines["unet"].provider.endswith("(int8)") and int8.engines["vocoder"].provider.endswith("(int8)")
    assert pipeline.engines["unet"].provider == "CPUExecutionProvider"
    wave = int8.generate(pixels, GenerationOptions(0.5, 4, 3.5, seed=2))[0]
    assert wave.shape == (8000,) and np.isfinite(wave).all() and np.abs(wave).max() > 0
    # One unguided step: the int8 UNet's error is its export parity, not more. (Over many guided steps the
    # tiny random model drifts far; the full-size clip error is what benchmarks/bench_pipeline.py reports.)
    loa = pipeline.loa_tokens(pipeline.embed(pixels))
    lat = pipeline.initial_latents(2, pipeline.clip_shape(0.5))
    a, b = (p.denoise(loa, lat, 1, 1.0, "ddim") for p in (int8, pipeline))
    assert np.linalg.norm(a - b) / np.linalg.norm(b) < 0.1


def test_int8_requested_without_variant_is_refused(tmp_path, tiny_bundle):
    bundle = shutil.copytree(tiny_bundle, tmp_path / "b")
    manifest = json.loads((bundle / "manifest.json").read_text())
    del manifest["stages"]["unet"]["variants"]
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(Art2MusError, match="has no int8 unet"):
        Art2MusPipeline.load(bundle, int8=("unet",))
    with pytest.raises(Art2MusError, match="lists 'decoder'"):
        Art2MusPipeline.load(tiny_bundle, int8=("decoder",))
