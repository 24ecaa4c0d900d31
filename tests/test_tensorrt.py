"""What the CPU can check of the GPU path: fp16 variants and their parity, engine keys and the
rebuild decision, optimisation profiles from the bundle, refusal of mismatched engines, and the
refusal without a GPU or TensorRT. The GPU side is tests/test_tensorrt_gpu.py (marked gpu)."""

import json
import shutil

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from engines.backends import choose_backend, load_engines
from engines.bundle import file_sha256, load_bundle
from engines.errors import Art2MusError
from engines.onnxruntime_backend import OnnxRuntimeEngine
from engines.options import GenerationOptions
from engines.pipeline import Art2MusPipeline
from engines.specs import STAGES
from engines.tensorrt_build import (MIN_SECONDS, Box, BuildSettings, Gpu, differences, engine_key, latent_frames,
                                    metadata_path, plan_path, profile_shapes, rebuild_reasons, wanted_metadata)
from engines.tensorrt_backend import check_engine, engine_folder

H100 = Box(Gpu("NVIDIA H100 80GB HBM3", (9, 0), 79.1, False), "10.13.3.9")
ORIN = Box(Gpu("Orin", (8, 7), 61.4, True), "10.3.0")


def _tensorrt_importable() -> bool:
    try:
        import tensorrt  # noqa: F401
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def tiny_fp16_bundle(tmp_path_factory, tiny_checkpoint, tiny_bundle):
    """tiny_bundle plus its fp16 variants, made once (the fp16 step of `export --fp16`, without
    exporting the four stages again; benchmarks/gpu_check.py --dry-run runs `export --tiny --fp16`)."""
    from export.checkpoint import locate
    from export.exporter import add_fp16_variants

    out = tmp_path_factory.mktemp("bundles") / "tiny-fp16"
    shutil.copytree(tiny_bundle, out)
    add_fp16_variants(out, locate(tiny_checkpoint))
    return out


# ---- fp16 variants ---------------------------------------------------------------------------------

def test_fp16_variants_pass_parity_and_are_in_the_manifest(tiny_fp16_bundle):
    bundle = load_bundle(tiny_fp16_bundle)  # verifies every file's hash, the fp16 ones included
    table = bundle.fp16_table
    assert set(table) == set(STAGES)
    for stage, row in table.items():
        assert row["variant"] == "fp16" and row["reason"] is None, (stage, row)
        assert bundle.gpu_variant(stage) == "fp16"
        for name, parity in row["parity"].items():
            assert name.startswith(f"{stage}.fp16")
            assert parity["ok"] and parity["rel_l2"] < 5e-2 and parity["tolerance"] == 5e-2, (name, parity)
        assert bundle.manifest["stages"][stage]["variants"]["fp16"]["file"] == f"onnx/{stage}.fp16.onnx"
    assert table["vocoder"]["conversion"]["scoped"] > 0  # the VAE stays fp32: the checkpoint says force_upcast
    assert "fp16" not in {k.split(".")[-1].split("@")[0] for k in bundle.manifest["parity"]}  # fp32 rows unchanged


def test_fp16_graphs_keep_float32_io_and_hold_fp16_weights(tiny_fp16_bundle):
    bundle = load_bundle(tiny_fp16_bundle, verify=False)
    for stage in STAGES:
        model = onnx.load(str(bundle.stage_path(stage, "fp16")))
        io = {v.name: v.type.tensor_type.elem_type for v in list(model.graph.input) + list(model.graph.output)}
        spec = bundle.specs[stage]
        for t in spec.inputs + spec.outputs:
            assert io[t.name] == helper.np_dtype_to_tensor_dtype(np.dtype(t.dtype)), (stage, t.name)
        assert any(i.data_type == TensorProto.FLOAT16 for i in model.graph.initializer), stage


def test_fp16_pipeline_clip_is_close_to_fp32(tiny_fp16_bundle):
    bundle = load_bundle(tiny_fp16_bundle, verify=False)
    picture = np.random.default_rng(4).random((120, 150, 3)).astype(np.float32)
    waves = {}
    for variant in (None, "fp16"):
        engines = {s: OnnxRuntimeEngine(bundle.specs[s], bundle.stage_path(s, variant), ["CPUExecutionProvider"], 1)
                   for s in STAGES}
        pipe = Art2MusPipeline(bundle, engines)
        (waves[variant],) = pipe.generate(pipe.pixels(picture), GenerationOptions(0.5, 5, 3.5, seed=3))
    err = np.linalg.norm(waves["fp16"] - waves[None]) / np.linalg.norm(waves[None])
    assert np.all(np.isfinite(waves["fp16"])) and err < 5e-2, err


def _big_graph(path, scale: float):
    """x -> MatMul(W) -> Mul(scale) -> Div(scale) -> y: the middle value is large, the output is not."""
    w = numpy_helper.from_array(np.full((4, 4), 1.0, np.float32), "w")
    s = numpy_helper.from_array(np.array(scale, np.float32), "s")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
             helper.make_node("Mul", ["h", "s"], ["big"], name="up"),
             helper.make_node("Div", ["big", "s"], ["y"], name="down")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], [w, s])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)]), str(path))


def _run(path, x):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


def test_measured_large_activations_stay_fp32(tmp_path):
    from export.fp16 import POLICIES, activation_ranges, convert_fp16

    src = tmp_path / "big.onnx"
    _big_graph(src, 1e5)  # 4e5 in the middle: inf in fp16
    x = np.ones((1, 4), np.float32)
    ranges = activation_ranges(src, [{"x": x}])
    assert ranges["big"] == pytest.approx(4e5)
    blind = convert_fp16(src, tmp_path / "blind.onnx", POLICIES[0], {})
    measured = convert_fp16(src, tmp_path / "measured.onnx", POLICIES[0], ranges)
    assert blind.measured == 0 and measured.measured == 2  # the Mul writes it, the Div reads it
    assert _output_type(tmp_path / "blind.onnx", "up") == TensorProto.FLOAT16  # inf on a GPU
    assert _output_type(tmp_path / "measured.onnx", "up") == TensorProto.FLOAT
    np.testing.assert_allclose(_run(tmp_path / "measured.onnx", x), _run(src, x), rtol=1e-3)
    # ONNX Runtime's CPU provider computes Mul and Div of the blind graph in fp32 behind merged casts,
    # so it does not show the overflow a GPU would: why overflow is guarded by measurement
    assert np.all(np.isfinite(_run(tmp_path / "blind.onnx", x)))


def _output_type(path, node: str) -> int:
    """The element type of what node `node` writes."""
    inferred = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    (out,) = [n.output[0] for n in inferred.graph.node if n.name == node]
    return {v.name: v.type.tensor_type.elem_type for v in inferred.graph.value_info}[out]


def test_a_stage_out_of_tolerance_stays_fp32_with_the_reason(tmp_path):
    from export.fp16 import POLICIES, choose_variant
    from export.parity import compare

    src = tmp_path / "big.onnx"
    _big_graph(src, 1e5)
    x = np.ones((1, 4), np.float32)
    dst = tmp_path / "big.fp16.onnx"
    calls = []

    def parity(path):  # a reference the fp16 graph cannot meet, whatever the policy
        calls.append(path)
        return [compare("unet.fp16@25", _run(path, x), 1.5 * _run(src, x), 5e-2)]

    entry = choose_variant("unet", src, dst, {}, parity)
    assert len(calls) == len(POLICIES)
    assert entry["variant"] == "fp32" and entry["policies_tried"] == [p.name for p in POLICIES]
    assert "out of tolerance" in entry["reason"] and "fp32" in entry["reason"]
    assert not list(tmp_path.glob("big.fp16.onnx*"))  # nothing shipped that a build could pick up


# ---- profiles, keys, metadata ---------------------------------------------------------------------

def test_profiles_span_the_bundles_clip_lengths(tiny_bundle):
    bundle = load_bundle(tiny_bundle, verify=False)
    d = bundle.dims
    w = d.mel_bins // d.vae_scale_factor
    lo, opt, hi = (latent_frames(bundle, s) for s in (MIN_SECONDS, bundle.default_seconds, bundle.max_seconds))
    assert lo < opt < hi
    unet = profile_shapes(bundle, "unet")
    assert unet["latents"] == [[2, d.latent_channels, f, w] for f in (lo, opt, hi)]  # the guided batch is 2
    t5 = bundle.constants["t5_tokens"].shape[1]
    assert unet["t5_tokens"] == [[2, t5, d.t5_dim]] * 3 and unet["t5_mask"] == [[2, t5]] * 3
    assert unet["timestep"] == [[1]] * 3 and unet["loa_tokens"] == [[2, d.loa_tokens, d.loa_dim]] * 3
    assert profile_shapes(bundle, "vocoder")["latents"] == [[1, d.latent_channels, f, w] for f in (lo, opt, hi)]
    assert profile_shapes(bundle, "encoder") == {"pixels": [[1, 3, d.image_size, d.image_size]] * 3}
    short = profile_shapes(bundle, "unet", max_seconds=5.0)["latents"]
    assert short[1][2] == short[2][2] == latent_frames(bundle, 5.0)  # opt never exceeds max
    with pytest.raises(Art2MusError, match="shortest clip"):
        profile_shapes(bundle, "unet", max_seconds=0.5)


def test_engine_folder_is_keyed_by_compute_capability_and_tensorrt_version(tiny_bundle):
    bundle = load_bundle(tiny_bundle, verify=False)
    assert engine_key("sm87", "10.3.0") == ORIN.key == "sm87-trt10.3.0"
    assert engine_folder(bundle, H100) == tiny_bundle / "engines" / "sm90-trt10.13.3.9"


def _fake_build(bundle, stage, box, settings=BuildSettings()):
    """What a build writes, with a stand-in plan (no TensorRT here)."""
    folder = engine_folder(bundle, box)
    folder.mkdir(parents=True, exist_ok=True)
    plan_path(folder, stage).write_bytes(b"plan of " + stage.encode())
    meta = {**wanted_metadata(bundle, stage, box, settings), "plan_sha256": file_sha256(plan_path(folder, stage))}
    metadata_path(folder, stage).write_text(json.dumps(meta))
    return folder


def test_rebuild_when_any_metadata_differs(tmp_path, tiny_bundle):
    root = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, root)
    bundle = load_bundle(root, verify=False)
    settings = BuildSettings(workspace_gb=2.0)
    folder = engine_folder(bundle, H100)
    want = wanted_metadata(bundle, "unet", H100, settings)
    assert want["variant"] == "fp32" and want["tensorrt"] == "10.13.3.9"
    assert want["gpu"] == {"name": "NVIDIA H100 80GB HBM3", "compute_capability": [9, 0]}
    assert want["onnx"]["sha256"] == bundle.manifest["stages"]["unet"]["sha256"]
    assert want["builder"]["strongly_typed"] is True
    assert rebuild_reasons(folder, "unet", want) == ["no engine built yet"]
    _fake_build(bundle, "unet", H100, settings)
    assert rebuild_reasons(folder, "unet", want) == []
    assert rebuild_reasons(folder, "unet", wanted_metadata(bundle, "unet", H100, BuildSettings(workspace_gb=4.0))) == [
        "builder.workspace_gb: 2.0 -> 4.0"]
    assert [r.split(":")[0] for r in rebuild_reasons(folder, "unet", wanted_metadata(
        bundle, "unet", H100, BuildSettings(workspace_gb=2.0, max_seconds=20.0)))] == ["builder.max_seconds",
                                                                                       "profiles.latents"]
    other_gpu = Box(Gpu("NVIDIA H100 PCIe", (9, 0), 79.1, False), H100.tensorrt)  # same folder, another card
    assert [r.split(":")[0] for r in rebuild_reasons(folder, "unet", wanted_metadata(
        bundle, "unet", other_gpu, settings))] == ["gpu.name"]
    manifest = json.loads((root / "manifest.json").read_text())  # a re-export changes the ONNX hash
    manifest["stages"]["unet"]["sha256"] = "0" * 64
    (root / "manifest.json").write_text(json.dumps(manifest))
    assert [r.split(":")[0] for r in rebuild_reasons(folder, "unet", wanted_metadata(
        load_bundle(root, verify=False), "unet", H100, settings))] == ["onnx.sha256"]
    plan_path(folder, "unet").write_bytes(b"tampered")
    assert rebuild_reasons(folder, "unet", want) == ["plan file changed since it was built"]


def test_rebuild_when_the_bundle_gains_an_fp16_variant(tiny_bundle, tiny_fp16_bundle):
    fp32, fp16 = (load_bundle(b, verify=False) for b in (tiny_bundle, tiny_fp16_bundle))
    have = wanted_metadata(fp32, "vocoder", ORIN, BuildSettings())
    want = wanted_metadata(fp16, "vocoder", ORIN, BuildSettings())
    assert want["variant"] == "fp16" and want["onnx"]["file"] == "onnx/vocoder.fp16.onnx"
    assert {d.split(":")[0] for d in differences(have, want)} >= {"variant", "onnx.file", "onnx.sha256"}


def test_backend_refuses_an_engine_built_for_another_box(tmp_path, tiny_bundle):
    root = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, root)
    bundle = load_bundle(root, verify=False)
    with pytest.raises(Art2MusError, match=r"no TensorRT engine for unet .*`art2mus build --bundle "):
        check_engine(bundle, "unet", H100)
    _fake_build(bundle, "unet", H100)
    assert check_engine(bundle, "unet", H100)["variant"] == "fp32"
    newer = Box(H100.gpu, "11.4.0.106")
    with pytest.raises(Art2MusError, match=r"engines here are for: sm90-trt10\.13\.3\.9.*art2mus build"):
        check_engine(bundle, "unet", newer)
    folder = engine_folder(bundle, H100)  # the same folder, edited by hand to claim another TensorRT
    meta = json.loads(metadata_path(folder, "unet").read_text())
    meta["tensorrt"] = "10.0.1"
    metadata_path(folder, "unet").write_text(json.dumps(meta))
    with pytest.raises(Art2MusError, match=r"does not match this box and bundle \(tensorrt: 10\.0\.1 -> 10\.13\.3\.9\)"
                                           r"; rebuild it with `art2mus build --bundle"):
        check_engine(bundle, "unet", H100)
    # the runtime does not care how an engine was tuned, only what it runs on
    _fake_build(bundle, "unet", H100, BuildSettings(workspace_gb=1.0, optimization_level=1))
    assert check_engine(bundle, "unet", H100)["builder"]["workspace_gb"] == 1.0


# ---- refusal without a GPU or TensorRT (real here: tensorrt is not installed) ---------------------

needs_no_tensorrt = pytest.mark.skipif(_tensorrt_importable(), reason="tensorrt is installed on this machine")


@needs_no_tensorrt
def test_build_refuses_in_one_line_naming_what_is_missing(tiny_bundle, capsys):
    from installation.cli import main

    assert main(["build", "--bundle", str(tiny_bundle)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("art2mus build: error: TensorRT engines need an NVIDIA GPU") and "tensorrt (" in err
    assert "pip install '.[gpu]'" in err


@needs_no_tensorrt
def test_tensorrt_backend_is_refused_and_auto_falls_back_with_the_reason(tiny_bundle, caplog):
    bundle = load_bundle(tiny_bundle, verify=False)
    with pytest.raises(Art2MusError, match="missing: tensorrt"):
        load_engines(bundle, "tensorrt")
    backend, why = choose_backend(bundle, "auto")
    assert backend == "onnxruntime" and "tensorrt" in why
    with caplog.at_level("INFO", logger="engines.backends"):
        engines = load_engines(bundle, "auto", provider="cpu")
    assert {e.provider for e in engines.values()} == {"CPUExecutionProvider"}
    assert "backend auto: no usable TensorRT engines" in caplog.text and "using onnxruntime" in caplog.text


# ---- on a GPU with TensorRT (benchmarks/gpu_check.py runs these; skipped here with the reason) ---------

def _gpu_missing() -> str | None:
    from engines.tensorrt_build import detect_box

    try:
        detect_box()
    except Art2MusError as exc:
        return str(exc)
    return None


GPU_MISSING = _gpu_missing()


def on_gpu(test):
    """Marked gpu (`pytest -m gpu`), skipped with the reason where this box lacks the GPU, TensorRT or cuda-python."""
    return pytest.mark.gpu(pytest.mark.skipif(GPU_MISSING is not None, reason=f"needs a GPU with TensorRT: {GPU_MISSING}")(test))


GPU_SECONDS = 2.0  # tiny engines are built for clips up to 4 s: quick to build
GPU_TOLERANCE = 5e-2  # fp16 engines against ONNX Runtime fp32 on the CPU, relative L2 per stage


@pytest.fixture(scope="session")
def built_bundle(tmp_path_factory, tiny_fp16_bundle):
    from engines.tensorrt_build import build_engines

    root = tmp_path_factory.mktemp("engines") / "tiny-fp16"
    shutil.copytree(tiny_fp16_bundle, root)
    bundle = load_bundle(root)
    results = build_engines(bundle, settings=BuildSettings(workspace_gb=1.0, max_seconds=4.0))
    assert all(r.built for r in results)
    return root


def _stage_feeds(bundle, frames: int) -> dict[str, dict]:
    rng = np.random.default_rng(7)
    d, c = bundle.dims, bundle.constants
    lat = (d.latent_channels, frames, d.mel_bins // d.vae_scale_factor)
    return {
        "encoder": {"pixels": rng.standard_normal((1, 3, d.image_size, d.image_size), dtype=np.float32)},
        "projector": {"embedding": rng.standard_normal((1, d.embedding_dim), dtype=np.float32) / 4},
        "unet": {"latents": rng.standard_normal((2, *lat), dtype=np.float32), "timestep": np.array([501]),
                 "loa_tokens": rng.standard_normal((2, d.loa_tokens, d.loa_dim), dtype=np.float32),
                 "t5_tokens": c["t5_tokens"], "t5_mask": c["t5_mask"]},
        "vocoder": {"latents": rng.standard_normal((1, *lat), dtype=np.float32)},
    }


@on_gpu
def test_gpu_build_is_kept_until_something_changes(built_bundle):
    from engines.tensorrt_build import build_engines

    bundle = load_bundle(built_bundle)
    settings = BuildSettings(workspace_gb=1.0, max_seconds=4.0)
    assert not any(r.built for r in build_engines(bundle, settings=settings))
    again = build_engines(bundle, ("vocoder",), BuildSettings(workspace_gb=1.0, max_seconds=3.0))
    assert again[0].built and any("profiles" in r for r in again[0].reasons)
    build_engines(bundle, ("vocoder",), settings)  # back to the fixture's engines


@on_gpu
def test_gpu_engines_match_onnxruntime_cpu_per_stage(built_bundle):
    from engines.tensorrt_backend import load_tensorrt_engines

    bundle = load_bundle(built_bundle)
    engines = load_tensorrt_engines(bundle)
    assert all(e.provider.startswith("TensorRT") and "fp16" in e.provider for e in engines.values())
    feeds = _stage_feeds(bundle, latent_frames(bundle, GPU_SECONDS))
    for stage in STAGES:
        cpu = OnnxRuntimeEngine(bundle.specs[stage], bundle.stage_path(stage), ["CPUExecutionProvider"])
        (want,), (got,) = cpu.run(feeds[stage]).values(), engines[stage].run(feeds[stage]).values()
        l2 = np.linalg.norm(got - want) / np.linalg.norm(want)
        print(f"{stage}: TensorRT fp16 vs ONNX Runtime CPU fp32, rel L2 {l2:.2e}")
        assert got.dtype == np.float32 and got.shape == want.shape and l2 < GPU_TOLERANCE, (stage, l2)


@on_gpu
def test_gpu_cuda_graph_replay_equals_plain_execution(built_bundle):
    from engines.tensorrt_backend import load_tensorrt_engines

    bundle = load_bundle(built_bundle)
    feeds = _stage_feeds(bundle, latent_frames(bundle, GPU_SECONDS))["unet"]
    plain = load_tensorrt_engines(bundle, cuda_graph=False)["unet"]
    graphed = load_tensorrt_engines(bundle, cuda_graph=True)["unet"]
    want = plain.run(feeds)["noise"]
    outs = [graphed.run(feeds)["noise"] for _ in range(3)]  # the first captures, the next replay
    assert graphed.cuda_graph and graphed._graph is not None
    for out in outs:
        np.testing.assert_array_equal(out, want)
    other = {**feeds, "timestep": np.array([11])}  # a replay sees new input values...
    np.testing.assert_array_equal(graphed.run(other)["noise"], plain.run(other)["noise"])
    longer = _stage_feeds(bundle, latent_frames(bundle, 3.0))["unet"]  # ...and a new shape recaptures
    np.testing.assert_array_equal(graphed.run(longer)["noise"], plain.run(longer)["noise"])


@on_gpu
def test_gpu_whole_clip_is_close_to_onnxruntime_cpu_and_auto_picks_tensorrt(built_bundle, caplog):
    picture = np.random.default_rng(4).random((120, 150, 3)).astype(np.float32)
    options = GenerationOptions(GPU_SECONDS, 10, 3.5, seed=5)
    with caplog.at_level("INFO", logger="engines.backends"):
        trt = Art2MusPipeline.load(built_bundle, backend="auto")
    assert "using tensorrt" in caplog.text
    cpu = Art2MusPipeline.load(built_bundle, backend="onnxruntime", provider="cpu")
    (got,), (want,) = (p.generate(p.pixels(picture), options) for p in (trt, cpu))
    err = np.linalg.norm(got - want) / np.linalg.norm(want)
    print(f"whole {GPU_SECONDS} s clip, 10 steps: TensorRT fp16 vs ONNX Runtime CPU fp32, rel L2 {err:.2e}")
    assert err < 1e-1, err
    with pytest.raises(Art2MusError, match="outside the engine's profile"):
        trt.generate(trt.pixels(picture), options.replace(seconds=6.0))


@on_gpu
def test_gpu_mismatched_engine_is_refused_with_the_rebuild_command(tmp_path, built_bundle):
    from engines.tensorrt_backend import load_tensorrt_engines
    from engines.tensorrt_build import detect_box

    root = tmp_path / "bundle"
    shutil.copytree(built_bundle, root)
    folder = engine_folder(load_bundle(root, verify=False), detect_box())
    meta = json.loads(metadata_path(folder, "unet").read_text())
    meta["gpu"]["name"] = "another card"
    metadata_path(folder, "unet").write_text(json.dumps(meta))
    with pytest.raises(Art2MusError, match=r"gpu\.name: another card -> .*rebuild it with `art2mus build --bundle"):
        load_tensorrt_engines(load_bundle(root, verify=False))


def test_onnxruntime_tensorrt_ep_gets_a_cache_folder_and_the_build_profiles(tiny_bundle, tmp_path):
    """The options ONNX Runtime's TensorRT EP is given (it runs only where onnxruntime-gpu is installed)."""
    from engines.bundle import load_bundle
    from engines.onnxruntime_backend import tensorrt_provider_options
    from engines.tensorrt_build import profile_shapes

    bundle = load_bundle(tiny_bundle)
    profiles = profile_shapes(bundle, "unet")
    options = tensorrt_provider_options(profiles, tmp_path / "unet")
    assert options["trt_engine_cache_enable"] == "True" and options["trt_engine_cache_path"] == str(tmp_path / "unet")
    for key, which in (("trt_profile_min_shapes", 0), ("trt_profile_opt_shapes", 1), ("trt_profile_max_shapes", 2)):
        parsed = dict(item.split(":") for item in options[key].split(","))
        assert set(parsed) == set(profiles)
        assert all(parsed[name] == "x".join(map(str, dims[which])) for name, dims in profiles.items())
