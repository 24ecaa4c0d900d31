"""The recognition embedding: the shipped network on real ONNX Runtime, and the script that trains it."""

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from installation.camera.synthetic2 import artwork2, catalog_scan, render_view
from installation.recognition import rectify
from installation.recognition.embedding import MODEL, SIDE, Embedder, square

REPO = Path(__file__).resolve().parents[1]
WORKS = range(900_000, 900_012)  # far from the works the network was trained on (300,000+)


@pytest.fixture(scope="module")
def embedder():
    return Embedder()


def test_the_shipped_network_gives_unit_vectors_and_the_same_ones_twice(embedder):
    squares = np.random.default_rng(0).integers(0, 256, (3, SIDE, SIDE, 3), dtype=np.uint8)
    a, b = embedder.embed(squares), embedder.embed(squares)
    assert a.shape == (3, embedder.dim) and np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-4)
    assert np.array_equal(a, b)
    assert embedder.embed(squares[:0]).shape == (0, embedder.dim)


def test_a_view_of_an_unseen_work_is_most_like_its_own_catalog_scan(embedder):
    """Works and views the network never saw (renderer 2: another scan in the catalog, strong casts,
    glare, frames, visitors): each view's true quad is closer to its own work than to the other 11."""
    arts = {s: artwork2(s) for s in WORKS}
    catalog = embedder.embed(np.stack([square(catalog_scan(a, s)) for s, a in arts.items()]))
    hits = 0
    for k, (s, a) in enumerate(arts.items()):
        frame, corners = render_view(a, 40 + k)
        v = embedder.embed(rectify(frame, np.float32(corners), SIDE)[None])[0]
        hits += int(np.argmax(catalog @ v)) == k
    assert hits >= 10, hits  # of 12 (chance: 1)


def test_a_missing_network_is_named_with_its_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="embedding.onnx.*reinstall"):
        Embedder(tmp_path / "embedding.onnx")
    assert MODEL.is_file()


@pytest.mark.export
def test_training_data_and_a_short_training_give_a_network_the_recogniser_loads(tmp_path):
    pytest.importorskip("torch")
    data = tmp_path / "r2.npz"
    subprocess.run([sys.executable, "benchmarks/embedding_data.py", "--renderer", "2", "--works", "10",
                    "--views", "12", "--out", str(data)], cwd=REPO, check=True, capture_output=True)
    z = np.load(data)
    assert z["catalog"].shape == (10, SIDE, SIDE, 3) and len(z["crops"]) == len(z["labels"]) >= 12
    assert (z["labels"] >= 0).any() and z["labels"].max() < 10
    out = tmp_path / "e.onnx"
    done = subprocess.run([sys.executable, "-m", "export.recognition_embedding", str(data), "--steps", "3",
                           "--out", str(out)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert Embedder(out).embed(z["crops"][:2]).shape == (2, 64)
    missing = subprocess.run([sys.executable, "-m", "export.recognition_embedding", str(tmp_path / "none.npz"),
                              "--out", str(out)], cwd=REPO, capture_output=True, text=True)
    assert missing.returncode == 2 and "none.npz" in missing.stderr and "embedding_data.py" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_the_recogniser_compares_the_networks_picks_and_can_do_without_it(tmp_path):
    from installation.catalog import load_catalog
    from installation.recognition import Recognizer, RecognizerSettings

    plain = [900_002, 900_003, 900_007, 900_008]  # colour fields and stripes: no keypoints, so pairs are compared
    for s in plain:
        cv2.imwrite(str(tmp_path / f"w{s}.png"), catalog_scan(artwork2(s), s))
    features = load_catalog(tmp_path).features
    frame, _ = render_view(artwork2(plain[0]), 3)
    with_net = Recognizer(features).recognize(frame)
    rows = with_net.candidates
    assert rows and all(c.similar is not None and -1.0 <= c.similar <= 1.0 for c in rows)
    assert all(-1.0 <= c.texture <= 1.0 for c in rows) and all(0.0 <= c.glare <= 1.0 for c in rows)
    without = Recognizer(features, RecognizerSettings(embedded=0))
    assert without.embedder is None
    rows = without.recognize(frame).candidates
    assert rows and all(c.similar is None and c.similar_margin is None and c.texture is not None for c in rows)
    with pytest.raises(ValueError, match="embedded -1"):
        RecognizerSettings(embedded=-1)
