"""Session-scoped tiny model: one checkpoint and one bundle (exported through the CLI) per test run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    from export.tiny import make_tiny_checkpoint

    return make_tiny_checkpoint(tmp_path_factory.mktemp("tiny-checkpoint"))


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory, tiny_checkpoint) -> Path:
    from installation.cli import main

    out = tmp_path_factory.mktemp("bundles") / "tiny"
    assert main(["export", "--checkpoint", str(tiny_checkpoint), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def pipeline(tiny_bundle):
    from engines.pipeline import Art2MusPipeline

    return Art2MusPipeline.load(tiny_bundle)


@pytest.fixture(scope="session")
def artwork(tmp_path_factory) -> Path:
    import cv2

    from installation.demo import composition

    path = tmp_path_factory.mktemp("art") / "composition.png"
    cv2.imwrite(str(path), composition(np.random.default_rng(3)))
    return path
