from pathlib import Path

import pytest

from engines.errors import Art2MusError
from installation.config import Config, load_config, parse_config

REPO = Path(__file__).resolve().parents[1]


def test_repository_config_is_the_builtin_defaults():
    assert load_config(REPO / "config.yaml") == Config()


def test_unknown_key_is_named_with_its_value():
    with pytest.raises(Art2MusError, match=r"unknown key 'model.stpes' \(value 30\)"):
        parse_config({"model": {"stpes": 30}})


def test_bad_value_names_key_value_and_what_is_allowed():
    with pytest.raises(Art2MusError, match=r"model.backend='tensorflow'.*'auto', 'onnxruntime' or 'tensorrt'"):
        parse_config({"model": {"backend": "tensorflow"}})
    with pytest.raises(Art2MusError, match=r"model.steps=0.*greater than or equal to 1"):
        parse_config({"model": {"steps": 0}})


def test_config_is_frozen():
    with pytest.raises(Exception):
        Config().model.steps = 3


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(Art2MusError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed")
    with pytest.raises(Art2MusError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("- a list")
    with pytest.raises(Art2MusError, match="top level must be a mapping"):
        load_config(bad)


def test_camera_k_of_n_must_be_possible():
    with pytest.raises(Art2MusError, match="enter_k=6 exceeds enter_n=5"):
        parse_config({"camera": {"enter_k": 6}})
