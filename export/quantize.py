"""int8 variants of the heavy stages, for CPU kiosks (measured on 2 cores, full size, 10.24 s):

- unet: static int8 (QDQ, per-channel weights, calibrated activations) on Conv, which runs 3.6x
  faster as QLinearConv (0.44 -> 0.12 s a step), then dynamic int8 on MatMul/Gemm weights:
  0.85 s a step against 1.8 s in fp32; a whole 25-step clip 26.4 s against PyTorch's 47.4 s, at
  4.2 % relative waveform error (dynamic MatMul-only int8 was 0.70x at 0.2 %).
- vocoder: static int8 on Conv: 2.75 s against 7.3 s, but ~7 % error per call and ~50 % on the
  whole clip's waveform (random weights), so kiosks run it only when `model.int8_stages` names it.
Attention's activation-by-activation MatMuls stay float.

Weights are now 7-bit (`reduce_range=True`); the numbers above were measured with 8-bit weights and
not re-measured since, so they may no longer hold. Without it, x86-64 CPUs with AVX2/AVX512 but
no VNNI saturate the U8S8 kernels (pairs of u8*s8 products summed into int16 by vpmaddubsw): the tiny
bundle's int8 parity there was unet 0.21 / vocoder 0.47 rel L2 (tolerances 0.1 / 0.2); with 7-bit
weights it is unet 0.05-0.06 / vocoder 0.14-0.15."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
CALIBRATION_TIMESTEPS = (951, 701, 401, 101)
# 7-bit weights: on x86-64 without VNNI, ORT's U8S8 kernels add u8*s8 product pairs into int16
# (vpmaddubsw), which saturates with full-range weights; ORT's quantize_static docs recommend
# reduce_range=True there. A bundle is exported once for kiosks of any CPU, so it is always on
# (VNNI machines lose one bit of weight precision they would not need to).
REDUCE_RANGE = True


class _Reader:
    def __init__(self, feeds: list[dict]):
        self._it = iter(feeds)

    def get_next(self):
        return next(self._it, None)


def unet_calibration(example: dict, rng: np.random.Generator) -> list[dict]:
    """UNet inputs over the denoising range: early steps see unit-variance noise, late ones less."""
    feeds = []
    for t in CALIBRATION_TIMESTEPS:
        scale = 0.5 + t / 1000
        feeds.append({**example, "latents": (rng.standard_normal(example["latents"].shape) * scale).astype(np.float32),
                      "timestep": np.array([t], dtype=np.int64)})
    return feeds


def vocoder_calibration(example: dict, rng: np.random.Generator) -> list[dict]:
    return [{"latents": rng.standard_normal(example["latents"].shape).astype(np.float32)} for _ in range(3)]


def _static_conv(src: Path, dst: Path, feeds: list[dict]) -> None:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    reader = type("Reader", (_Reader, CalibrationDataReader), {})(feeds)
    quantize_static(str(src), str(dst), reader, quant_format=QuantFormat.QDQ, op_types_to_quantize=["Conv"],
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
                    reduce_range=REDUCE_RANGE, use_external_data_format=True)


def quantize_unet(onnx_dir: Path, feeds: list[dict]) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = onnx_dir / "unet.int8.onnx"
    with tempfile.TemporaryDirectory(dir=onnx_dir.parent) as tmp:
        conv = Path(tmp) / "unet.conv8.onnx"
        _static_conv(onnx_dir / "unet.onnx", conv, feeds)
        quantize_dynamic(str(conv), str(out), op_types_to_quantize=["MatMul", "Gemm"], weight_type=QuantType.QInt8,
                         reduce_range=REDUCE_RANGE, use_external_data_format=True)
    return out


def quantize_vocoder(onnx_dir: Path, feeds: list[dict]) -> Path:
    out = onnx_dir / "vocoder.int8.onnx"
    _static_conv(onnx_dir / "vocoder.onnx", out, feeds)
    return out
