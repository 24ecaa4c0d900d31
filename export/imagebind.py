"""ImageBind's vision tower (imagebind_huge: ViT-H/14) with the checkpoint's own parameter names,
so the real `imagebind_huge.pth` loads key for key; only the vision keys are taken.

    modality_preprocessors.vision.{cls_token, rgbt_stem.proj.1.weight, pos_embedding_helper.pos_embed}
    modality_trunks.vision.pre_transformer_layer.0.{weight,bias}
    modality_trunks.vision.blocks.N.{attn.in_proj_*, attn.out_proj.*, norm_1.*, mlp.fc1.*, mlp.fc2.*, norm_2.*}
    modality_heads.vision.0.{weight,bias} (LayerNorm), modality_heads.vision.2.weight (Linear, no bias)
A still image is repeated to 2 frames (PadIm2Video) before the Conv3d stem, as ImageBind does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from engines.errors import Art2MusError

PREFIXES = ("modality_preprocessors.vision.", "modality_trunks.vision.", "modality_heads.vision.")
KNOWN_HEADS = {1280: 16, 1024: 16, 768: 12}  # ViT-H, ViT-L, ViT-B


@dataclass(frozen=True)
class VisionConfig:
    width: int
    depth: int
    heads: int
    mlp: int
    out_dim: int
    patch: int
    frames: int
    image_size: int


class PadIm2Video(nn.Module):
    def __init__(self, frames: int):
        super().__init__()
        self.frames = frames

    def forward(self, x):
        return x.unsqueeze(2).repeat(1, 1, self.frames, 1, 1)


class VisionPreprocessor(nn.Module):
    def __init__(self, c: VisionConfig):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.width))
        self.rgbt_stem = nn.Module()
        conv = nn.Conv3d(3, c.width, (c.frames, c.patch, c.patch), stride=(c.frames, c.patch, c.patch), bias=False)
        self.rgbt_stem.proj = nn.Sequential(PadIm2Video(c.frames), conv)
        self.pos_embedding_helper = nn.Module()
        n = (c.image_size // c.patch) ** 2 + 1
        self.pos_embedding_helper.pos_embed = nn.Parameter(torch.zeros(1, n, c.width))

    def forward(self, x):
        tokens = self.rgbt_stem.proj(x).flatten(2).transpose(1, 2)
        cls = self.cls_token.expand(tokens.shape[0], -1, -1)
        return torch.cat([cls, tokens], dim=1) + self.pos_embedding_helper.pos_embed


class Block(nn.Module):
    def __init__(self, c: VisionConfig):
        super().__init__()
        self.attn = nn.MultiheadAttention(c.width, c.heads, bias=True, batch_first=True)
        self.norm_1 = nn.LayerNorm(c.width, eps=1e-6)
        self.mlp = nn.Module()
        self.mlp.fc1, self.mlp.act, self.mlp.fc2 = nn.Linear(c.width, c.mlp), nn.GELU(), nn.Linear(c.mlp, c.width)
        self.norm_2 = nn.LayerNorm(c.width, eps=1e-6)

    def forward(self, x):
        h = self.norm_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp.fc2(self.mlp.act(self.mlp.fc1(self.norm_2(x))))


class VisionTrunk(nn.Module):
    def __init__(self, c: VisionConfig):
        super().__init__()
        self.pre_transformer_layer = nn.Sequential(nn.LayerNorm(c.width, eps=1e-6))
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.depth))

    def forward(self, x):
        x = self.pre_transformer_layer(x)
        for block in self.blocks:
            x = block(x)
        return x


class SelectCls(nn.Module):
    def forward(self, x):
        return x[:, 0]


class ImageBindVision(nn.Module):
    """pixels (B, 3, S, S) normalised -> unit-norm embedding (B, out_dim)."""

    def __init__(self, c: VisionConfig):
        super().__init__()
        self.config = c
        self.modality_preprocessors = nn.ModuleDict({"vision": VisionPreprocessor(c)})
        self.modality_trunks = nn.ModuleDict({"vision": VisionTrunk(c)})
        head = nn.Sequential(nn.LayerNorm(c.width, eps=1e-6), SelectCls(), nn.Linear(c.width, c.out_dim, bias=False))
        self.modality_heads = nn.ModuleDict({"vision": head})

    def forward(self, pixels):
        x = self.modality_preprocessors["vision"](pixels)
        x = self.modality_trunks["vision"](x)
        return F.normalize(self.modality_heads["vision"](x), dim=-1)


def config_from_state(state: dict, path: Path, heads: int | None = None) -> VisionConfig:
    """Reads the tower's sizes from tensor shapes (head count is not in the shapes: known widths use
    ImageBind's values, other widths one head per 16 channels unless `heads` is given)."""
    try:
        cls = state["modality_preprocessors.vision.cls_token"]
        stem = state["modality_preprocessors.vision.rgbt_stem.proj.1.weight"]
        pos = state["modality_preprocessors.vision.pos_embedding_helper.pos_embed"]
        fc1 = state["modality_trunks.vision.blocks.0.mlp.fc1.weight"]
        head = state["modality_heads.vision.2.weight"]
    except KeyError as exc:
        raise Art2MusError(
            f"{path}: no ImageBind vision key {exc.args[0]!r}; expected the imagebind_huge.pth checkpoint "
            "(all modalities, keys like modality_trunks.vision.blocks.0.attn.in_proj_weight)"
        ) from None
    width = cls.shape[-1]
    depth = 1 + max(int(k.split(".")[3]) for k in state if k.startswith("modality_trunks.vision.blocks."))
    patch, frames = stem.shape[-1], stem.shape[2]
    grid = round((pos.shape[1] - 1) ** 0.5)
    return VisionConfig(
        width=width, depth=depth, heads=heads or KNOWN_HEADS.get(width, max(1, width // 16)), mlp=fc1.shape[0],
        out_dim=head.shape[0], patch=patch, frames=frames, image_size=grid * patch,
    )


def load_imagebind_vision(path: Path, heads: int | None = None) -> ImageBindVision:
    if not path.is_file():
        raise Art2MusError(f"ImageBind checkpoint {str(path)!r} is missing; expected imagebind_huge.pth")
    try:
        # mmap + weights_only: the real file is ~4.8 GB of all six modalities; take the vision keys only.
        full = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:
        raise Art2MusError(f"{path} is not a readable torch checkpoint ({exc}); expected imagebind_huge.pth") from exc
    full = full.get("model", full) if isinstance(full, dict) else full
    state = {k.removeprefix("module."): v for k, v in full.items()}
    vision = {k: v for k, v in state.items() if k.startswith(PREFIXES)}
    model = ImageBindVision(config_from_state(vision, path, heads))
    missing, unexpected = model.load_state_dict(vision, strict=False)
    if missing or unexpected:
        raise Art2MusError(
            f"{path}: vision tower keys do not match ImageBind's (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    return model.float().eval()
