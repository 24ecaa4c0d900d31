"""The four stages as torch modules with the exact inputs and outputs of engines/specs.py."""

from __future__ import annotations

import torch
from torch import nn


class EncoderStage(nn.Module):
    """pixels (B, 3, S, S) -> unit-norm embedding (B, E): ImageBind vision tower or CLIP."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, pixels):
        return self.encoder(pixels)


def generate_loa(gpt2: nn.Module, inputs: torch.Tensor, new_tokens: int, mask: torch.Tensor | None = None):
    """GPT-2's 'language of audio': append the last hidden state `new_tokens` times.
    Unrolled without a KV cache: matches the cached loop exactly and exports as a plain graph.
    An explicit mask (all ones by default) also keeps transformers off its packed-sequence check."""
    if mask is None:
        mask = torch.ones(inputs.shape[:2], dtype=torch.int64, device=inputs.device)
    ones = torch.ones(inputs.shape[0], 1, dtype=mask.dtype, device=inputs.device)
    x = inputs
    for _ in range(new_tokens):
        hidden = gpt2(inputs_embeds=x, attention_mask=mask, use_cache=False).last_hidden_state
        x = torch.cat([x, hidden[:, -1:, :]], dim=1)
        mask = torch.cat([mask, ones], dim=1)
    return x[:, -new_tokens:, :]


class ProjectorStage(nn.Module):
    """embedding (B, E) -> aligner -> GPT-2 x new_tokens -> LOA tokens (B, new_tokens, 768)."""

    def __init__(self, aligner: nn.Module, gpt2: nn.Module, new_tokens: int):
        super().__init__()
        self.aligner, self.gpt2, self.new_tokens = aligner, gpt2, new_tokens

    def forward(self, embedding):
        return generate_loa(self.gpt2, self.aligner(embedding), self.new_tokens)


class UNetStage(nn.Module):
    """One guided denoising step's noise prediction on the doubled batch [negative; positive]."""

    def __init__(self, unet: nn.Module):
        super().__init__()
        self.unet = unet

    def forward(self, latents, timestep, loa_tokens, t5_tokens, t5_mask):
        return self.unet(latents, timestep, encoder_hidden_states=loa_tokens, encoder_hidden_states_1=t5_tokens,
                         encoder_attention_mask_1=t5_mask, return_dict=False)[0]


class VocoderStage(nn.Module):
    """latents (B, C, F, W) -> VAE decode (after / scaling_factor) -> mel -> HiFi-GAN -> waveform (B, samples)."""

    def __init__(self, vae: nn.Module, vocoder: nn.Module):
        super().__init__()
        self.vae, self.vocoder = vae, vocoder
        self.scale = float(vae.config.scaling_factor)

    def forward(self, latents):
        mel = self.vae.decode(latents / self.scale).sample
        return self.vocoder(mel.squeeze(1))


def remove_weight_norm(vocoder: nn.Module) -> None:
    """HiFi-GAN's weight norm is a training-time reparametrisation; folding it gives the same
    outputs and a plain graph."""
    if hasattr(vocoder, "remove_weight_norm"):
        try:
            vocoder.remove_weight_norm()
        except ValueError:  # already removed (loaded without it)
            pass


@torch.no_grad()
def reference(stage: nn.Module, feeds: dict) -> torch.Tensor:
    return stage(*[torch.from_numpy(v) for v in feeds.values()])
