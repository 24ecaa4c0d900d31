"""The Art2Mus image aligner: Linear -> Tanh -> Linear -> reshape to (B, tokens, gpt_width).
Its state dict has four keys, projection1.{weight,bias} and projection2.{weight,bias}; the number
of tokens (4 for Art2Mus-4, 1 for the 1-token variant) follows from projection2's rows."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from engines.errors import Art2MusError

KEYS = ("projection1.weight", "projection1.bias", "projection2.weight", "projection2.bias")


class ImageAligner(nn.Module):
    def __init__(self, embedding_dim: int, hidden: int, tokens: int, width: int):
        super().__init__()
        self.tokens, self.width = tokens, width
        self.projection1 = nn.Linear(embedding_dim, hidden)
        self.act1 = nn.Tanh()
        self.projection2 = nn.Linear(hidden, tokens * width)

    def forward(self, embedding):
        h = self.projection2(self.act1(self.projection1(embedding)))
        return h.reshape(-1, self.tokens, self.width)


def load_aligner(path: Path, gpt_width: int, embedding_dim: int) -> ImageAligner:
    if not path.is_file():
        raise Art2MusError(f"aligner state dict {str(path)!r} is missing; expected art2mus_4_img_proj_layer.pt")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise Art2MusError(f"{path} is not a readable torch state dict ({exc}); expected the Art2Mus aligner") from exc
    if not isinstance(state, dict) or sorted(state) != sorted(KEYS):
        got = sorted(state)[:6] if isinstance(state, dict) else type(state).__name__
        raise Art2MusError(f"{path}: aligner state dict must hold exactly {', '.join(KEYS)}; found {got}")
    hidden, in_dim = state["projection1.weight"].shape
    out_dim = state["projection2.weight"].shape[0]
    if in_dim != embedding_dim:
        raise Art2MusError(
            f"{path}: aligner takes {in_dim}-wide embeddings but the image encoder gives {embedding_dim}; "
            "use the encoder the aligner was trained with (ImageBind huge: 1024)"
        )
    if out_dim % gpt_width:
        raise Art2MusError(f"{path}: aligner output {out_dim} is not a multiple of GPT-2's width {gpt_width}")
    aligner = ImageAligner(in_dim, hidden, out_dim // gpt_width, gpt_width)
    aligner.load_state_dict({k: v.float() for k, v in state.items()})
    return aligner.eval()
