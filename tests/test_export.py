"""Loaders for the real checkpoint layouts, the tiny checkpoint, ONNX export and per-stage parity."""

import json
import shutil

import numpy as np
import onnxruntime as ort
import pytest
import torch

from engines.errors import Art2MusError
from engines.specs import STAGES, stage_specs
from export.aligner import load_aligner
from export.audioldm2 import load_audioldm2
from export.checkpoint import load_checkpoint, locate
from export.exporter import INT8_TOLERANCE, TOLERANCE, example_image
from export.imagebind import load_imagebind_vision
from export.onnx_export import export_stage
from export.parity import relative_errors
from export.stages import EncoderStage, reference


def test_tiny_checkpoint_has_the_real_layout(tiny_checkpoint):
    index = json.loads((tiny_checkpoint / "audioldm2" / "model_index.json").read_text())
    assert index["language_model"] == ["transformers", "GPT2Model"]
    assert index["unet"][1] == "AudioLDM2UNet2DConditionModel"
    for sub in ("unet", "vae", "vocoder", "language_model", "projection_model", "text_encoder", "text_encoder_2"):
        assert list((tiny_checkpoint / "audioldm2" / sub).glob("*.safetensors")), sub
    state = torch.load(tiny_checkpoint / "imagebind_huge.pth", weights_only=True)
    assert state["modality_trunks.vision.blocks.0.attn.in_proj_weight"].shape == (96, 32)
    assert torch.isinf(state["modality_preprocessors.text.causal_mask"]).any()  # the loader must not choke on -inf
    assert sorted(torch.load(tiny_checkpoint / "art2mus_4_img_proj_layer.pt")) == [
        "projection1.bias", "projection1.weight", "projection2.bias", "projection2.weight"]


def test_tiny_checkpoint_is_seeded(tmp_path, tiny_checkpoint):
    from export.tiny import make_tiny_checkpoint

    again = make_tiny_checkpoint(tmp_path / "again")
    assert (again / "imagebind_huge.pth").read_bytes() == (tiny_checkpoint / "imagebind_huge.pth").read_bytes()


def test_bundle_records_passing_parity_for_every_stage(tiny_bundle):
    manifest = json.loads((tiny_bundle / "manifest.json").read_text())
    rows = manifest["parity"]
    assert {r.split("@")[0] for r in rows} == set(STAGES) | {"unet.int8", "vocoder.int8"}
    for name, row in rows.items():
        limit = INT8_TOLERANCE[name.split(".")[0]] if ".int8" in name else TOLERANCE
        assert row["ok"] and row["rel_l2"] < limit, (name, row)
    for stage in ("unet", "vocoder"):
        assert manifest["stages"][stage]["variants"]["int8"]["file"] == f"onnx/{stage}.int8.onnx"
    assert manifest["source"]["encoder"]["kind"] == "imagebind"
    assert manifest["source"]["aligner"]["tokens"] == 4


def test_imagebind_loader_takes_module_prefixed_keys_and_ignores_other_modalities(tmp_path, tiny_checkpoint):
    state = torch.load(tiny_checkpoint / "imagebind_huge.pth", weights_only=True)
    torch.save({f"module.{k}": v for k, v in state.items()}, tmp_path / "prefixed.pth")
    a = load_imagebind_vision(tiny_checkpoint / "imagebind_huge.pth")
    b = load_imagebind_vision(tmp_path / "prefixed.pth")
    x = torch.from_numpy(example_image(224))
    with torch.no_grad():
        out = a(x)
        assert torch.equal(out, b(x))
    assert torch.allclose(out.norm(dim=-1), torch.ones(1), atol=1e-5)


def test_imagebind_loader_names_a_missing_key(tmp_path, tiny_checkpoint):
    state = torch.load(tiny_checkpoint / "imagebind_huge.pth", weights_only=True)
    del state["modality_heads.vision.2.weight"]
    torch.save(state, tmp_path / "broken.pth")
    with pytest.raises(Art2MusError, match="modality_heads.vision.2.weight"):
        load_imagebind_vision(tmp_path / "broken.pth")
    (tmp_path / "garbage.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(Art2MusError, match="garbage.pth is not a readable torch checkpoint"):
        load_imagebind_vision(tmp_path / "garbage.pth")


def test_aligner_variants_are_recognised_from_shapes(tmp_path):
    one = {"projection1.weight": torch.randn(64, 48), "projection1.bias": torch.randn(64),
           "projection2.weight": torch.randn(32, 64), "projection2.bias": torch.randn(32)}
    torch.save(one, tmp_path / "one.pt")
    aligner = load_aligner(tmp_path / "one.pt", gpt_width=32, embedding_dim=48)
    assert aligner.tokens == 1 and aligner(torch.randn(2, 48)).shape == (2, 1, 32)
    with pytest.raises(Art2MusError, match="1024-wide|48-wide"):
        load_aligner(tmp_path / "one.pt", gpt_width=32, embedding_dim=1024)
    torch.save({"weight": torch.randn(3)}, tmp_path / "wrong.pt")
    with pytest.raises(Art2MusError, match="projection1.weight"):
        load_aligner(tmp_path / "wrong.pt", gpt_width=32, embedding_dim=48)
    with pytest.raises(Art2MusError, match="missing"):
        load_aligner(tmp_path / "absent.pt", gpt_width=32, embedding_dim=48)


def test_audioldm2_loader_names_what_is_missing(tmp_path, tiny_checkpoint):
    with pytest.raises(Art2MusError, match="no model_index.json"):
        load_audioldm2(tmp_path)
    copy = tmp_path / "audioldm2"
    shutil.copytree(tiny_checkpoint / "audioldm2", copy)
    shutil.rmtree(copy / "vocoder")
    with pytest.raises(Art2MusError, match="vocoder"):
        load_audioldm2(copy)
    with pytest.raises(Art2MusError, match="no aligner"):
        locate(tmp_path)


def test_loaded_checkpoint_reads_dims_from_configs(tiny_checkpoint):
    ck = load_checkpoint(locate(tiny_checkpoint))
    d = ck.dims
    assert (d.embedding_dim, d.loa_dim, d.t5_dim, d.loa_tokens) == (48, 32, 40, 8)
    assert (d.latent_channels, d.mel_bins, d.vae_scale_factor) == (8, 16, 4)
    assert ck.parts.hop == 160


def test_clip_encoder_exports_with_parity(tmp_path, tiny_checkpoint):
    ck = load_checkpoint(locate(tiny_checkpoint, encoder="clip"))
    assert ck.paths.encoder_kind == "clip"
    spec = stage_specs(ck.dims)["encoder"]
    feeds = {"pixels": example_image(224)}
    export_stage(ck.stages["encoder"], spec, feeds, tmp_path / "encoder.onnx")
    ours = ort.InferenceSession(str(tmp_path / "encoder.onnx"), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    ref = reference(EncoderStage(ck.stages["encoder"].encoder), feeds).numpy()
    assert relative_errors(ours, ref)[0] < TOLERANCE
    assert np.allclose(np.linalg.norm(ours, axis=-1), 1.0, atol=1e-5)
