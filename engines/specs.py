"""Stage specs: the one place that names the four stages and their inputs and outputs.

Export writes ONNX graphs with exactly these names; backends and the pipeline feed them by these names.
Shapes use strings for dimensions that vary (`batch`, `latent_frames`, `t5_length`, `samples`).
"""

from __future__ import annotations

from dataclasses import dataclass

STAGES = ("encoder", "projector", "unet", "vocoder")


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str  # numpy dtype name
    shape: tuple  # ints or symbolic names

    def to_json(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}

    @staticmethod
    def from_json(data: dict) -> "TensorSpec":
        return TensorSpec(name=data["name"], dtype=data["dtype"], shape=tuple(data["shape"]))


@dataclass(frozen=True)
class StageSpec:
    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    @property
    def input_names(self) -> list[str]:
        return [t.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [t.name for t in self.outputs]


@dataclass(frozen=True)
class ModelDims:
    """The sizes that fix the stage shapes; read from the checkpoint at export, stored in the manifest."""

    image_size: int
    embedding_dim: int
    loa_dim: int
    loa_tokens: int
    t5_dim: int
    latent_channels: int
    mel_bins: int
    vae_scale_factor: int


def stage_specs(d: ModelDims) -> dict[str, StageSpec]:
    latent_w = d.mel_bins // d.vae_scale_factor
    return {
        "encoder": StageSpec(
            "encoder",
            (TensorSpec("pixels", "float32", (1, 3, d.image_size, d.image_size)),),
            (TensorSpec("embedding", "float32", (1, d.embedding_dim)),),
        ),
        "projector": StageSpec(
            "projector",
            (TensorSpec("embedding", "float32", (1, d.embedding_dim)),),
            (TensorSpec("loa_tokens", "float32", (1, d.loa_tokens, d.loa_dim)),),
        ),
        # Classifier-free guidance doubles the batch: row 0 negative, row 1 positive.
        "unet": StageSpec(
            "unet",
            (
                TensorSpec("latents", "float32", (2, d.latent_channels, "latent_frames", latent_w)),
                TensorSpec("timestep", "int64", (1,)),
                TensorSpec("loa_tokens", "float32", (2, d.loa_tokens, d.loa_dim)),
                TensorSpec("t5_tokens", "float32", (2, "t5_length", d.t5_dim)),
                TensorSpec("t5_mask", "int64", (2, "t5_length")),
            ),
            (TensorSpec("noise", "float32", (2, d.latent_channels, "latent_frames", latent_w)),),
        ),
        "vocoder": StageSpec(
            "vocoder",
            (TensorSpec("latents", "float32", (1, d.latent_channels, "latent_frames", latent_w)),),
            (TensorSpec("waveform", "float32", (1, "samples")),),
        ),
    }
