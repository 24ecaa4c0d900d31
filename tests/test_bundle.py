"""A bundle that is missing, corrupt, newer or changed since export is refused with a clear message."""

import json
import shutil

import pytest

from engines.bundle import FORMAT_VERSION, load_bundle
from engines.errors import Art2MusError


@pytest.fixture
def bundle_copy(tmp_path, tiny_bundle):
    return shutil.copytree(tiny_bundle, tmp_path / "bundle")


def _edit_manifest(bundle, change):
    path = bundle / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def test_good_bundle_loads(tiny_bundle):
    b = load_bundle(tiny_bundle)
    assert b.audio.sample_rate == 16000 and b.audio.hop == 160
    assert b.constants["t5_tokens"].shape[0] == 2 and b.constants["negative_loa"].shape == (1, 8, 32)


def test_missing_bundle_and_missing_manifest(tmp_path):
    with pytest.raises(Art2MusError, match="does not exist; re-export"):
        load_bundle(tmp_path / "absent")
    with pytest.raises(Art2MusError, match="has no manifest.json"):
        load_bundle(tmp_path)


def test_corrupt_manifest(bundle_copy):
    (bundle_copy / "manifest.json").write_text("{ not json")
    with pytest.raises(Art2MusError, match="not valid JSON"):
        load_bundle(bundle_copy)


def test_newer_format_is_refused(bundle_copy):
    _edit_manifest(bundle_copy, lambda m: m.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(Art2MusError, match=f"format_version {FORMAT_VERSION + 1}, newer than this art2mus reads"):
        load_bundle(bundle_copy)


def test_onnx_changed_since_export_is_refused(bundle_copy):
    with open(bundle_copy / "onnx" / "unet.onnx", "ab") as f:
        f.write(b"\0")
    with pytest.raises(Art2MusError, match="unet.onnx' changed since export"):
        load_bundle(bundle_copy)
    assert load_bundle(bundle_copy, verify=False).specs["unet"].name == "unet"


def test_missing_weights_file_is_named(bundle_copy):
    (bundle_copy / "onnx" / "vocoder.onnx.data").unlink()
    with pytest.raises(Art2MusError, match="vocoder.onnx.data' named in the manifest is missing"):
        load_bundle(bundle_copy)


def test_missing_constant_is_named(bundle_copy):
    (bundle_copy / "constants" / "negative_loa.npy").unlink()
    with pytest.raises(Art2MusError, match="constant negative_loa"):
        load_bundle(bundle_copy)
