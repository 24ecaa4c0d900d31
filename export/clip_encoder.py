"""The alternative image encoder: a CLIP vision tower with projection, transformers layout
(config.json + model.safetensors, CLIPVisionModelWithProjection)."""

from __future__ import annotations

from pathlib import Path

import torch.nn.functional as F
from torch import nn

from engines.errors import Art2MusError


class ClipEncoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixels):
        return F.normalize(self.model(pixel_values=pixels).image_embeds, dim=-1)

    @property
    def image_size(self) -> int:
        return self.model.config.image_size

    @property
    def out_dim(self) -> int:
        return self.model.config.projection_dim


def load_clip_encoder(folder: Path) -> ClipEncoder:
    from transformers import CLIPVisionModelWithProjection

    if not (folder / "config.json").is_file():
        raise Art2MusError(f"CLIP encoder folder {str(folder)!r} has no config.json; expected a transformers "
                           "CLIPVisionModelWithProjection saved with save_pretrained")
    try:
        model = CLIPVisionModelWithProjection.from_pretrained(folder, dtype="float32")
    except (OSError, ValueError) as exc:
        raise Art2MusError(f"CLIP encoder in {folder} could not be loaded: {exc}") from exc
    return ClipEncoder(model).eval()
