"""The constant conditioning of an image-only kiosk, computed once at export so no CLAP or T5 runs
on a kiosk: the T5 stream of the support prompt (positive) and of the negative prompt, their
masks, and the negative prompt's LOA tokens (CLAP + T5 -> AudioLDM 2 projection -> GPT-2),
exactly as AudioLDM2Pipeline.encode_prompt computes them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from export.audioldm2 import AudioLDM2Parts
from export.stages import generate_loa

SUPPORT_PROMPT = "Music representing the content of this artwork"
NEGATIVE_PROMPT = "Low quality."


@dataclass(frozen=True)
class Conditioning:
    t5_tokens: np.ndarray  # (2, L, D): [negative; positive]
    t5_mask: np.ndarray  # (2, L) int64
    negative_loa: np.ndarray  # (1, new_tokens, loa_dim)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"t5_tokens": self.t5_tokens, "t5_mask": self.t5_mask, "negative_loa": self.negative_loa}


def _t5(parts: AudioLDM2Parts, text: str, max_length: int | None):
    padding = "max_length" if max_length else True
    enc = parts.tokenizer_2(text, padding=padding, max_length=max_length or parts.tokenizer_2.model_max_length,
                            truncation=True, return_tensors="pt")
    return parts.text_encoder_2(enc.input_ids, attention_mask=enc.attention_mask)[0], enc.attention_mask


def _clap(parts: AudioLDM2Parts, text: str):
    enc = parts.tokenizer(text, padding="max_length", max_length=parts.tokenizer.model_max_length, truncation=True,
                          return_tensors="pt")
    feats = parts.text_encoder.get_text_features(enc.input_ids, attention_mask=enc.attention_mask)
    feats = getattr(feats, "pooler_output", feats)  # transformers 5 returns an output object
    return feats[:, None, :], torch.ones(1, 1, dtype=torch.int64)


@torch.no_grad()
def compute_conditioning(parts: AudioLDM2Parts, new_tokens: int, support_prompt: str = SUPPORT_PROMPT,
                         negative_prompt: str = NEGATIVE_PROMPT) -> Conditioning:
    pos, pos_mask = _t5(parts, support_prompt, None)
    neg, neg_mask = _t5(parts, negative_prompt, pos.shape[1])  # padded to the positive length, as the pipeline does
    clap, clap_mask = _clap(parts, negative_prompt)
    projected = parts.projection_model(hidden_states=clap, hidden_states_1=neg, attention_mask=clap_mask,
                                       attention_mask_1=neg_mask)
    # encode_prompt hands the projection's mask (zeros where T5 padding is) to GPT-2: so do we.
    loa = generate_loa(parts.language_model, projected.hidden_states, new_tokens, projected.attention_mask)
    return Conditioning(
        t5_tokens=torch.cat([neg, pos]).float().numpy(),
        t5_mask=torch.cat([neg_mask, pos_mask]).to(torch.int64).numpy(),
        negative_loa=loa.float().numpy(),
    )
