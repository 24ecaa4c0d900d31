"""A learned description of a rectified picture: a small convolutional network (trained by
export/recognition_embedding.py; the shipped one on renderer 2's views of works the benchmark never
uses, renderer 1 held out; run here by ONNX Runtime on one thread) maps a place's square and a
catalog work's square to unit vectors whose dot product says whether they are the same work,
whatever the light, glare, blur or a quad a few pixels off. The network standardises each picture
by its own statistics first.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

SIDE = 64  # the squares the network sees
MODEL = Path(__file__).with_name("embedding.onnx")


def square(image_bgr: np.ndarray) -> np.ndarray:
    """A picture squashed to SIDE x SIDE (a catalog image or a rectified place)."""
    if image_bgr.shape[:2] == (SIDE, SIDE):
        return image_bgr
    return cv2.resize(image_bgr, (SIDE, SIDE), interpolation=cv2.INTER_AREA)


class Embedder:
    """The network, loaded once; `embed` takes BGR uint8 squares (N, SIDE, SIDE, 3)."""

    def __init__(self, path: Path = MODEL):
        import onnxruntime as ort  # the recogniser loads without it until a model is asked for

        if not Path(path).is_file():
            raise FileNotFoundError(f"recognition network {path}: missing; reinstall art2mus (pip install .), "
                                    "or train one: python3 -m export.recognition_embedding")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # the camera process has one core for recognition
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.dim = int(self.session.get_outputs()[0].shape[1])

    def embed(self, squares: np.ndarray) -> np.ndarray:
        if not len(squares):
            return np.zeros((0, self.dim), np.float32)
        x = np.ascontiguousarray(squares.transpose(0, 3, 1, 2), np.float32) * np.float32(1 / 255)
        return self.session.run(None, {self.input: x})[0]
