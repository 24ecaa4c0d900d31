"""Finds the parts of an Art2Mus checkpoint folder and loads them into the four stage modules.

    CHECKPOINT/audioldm2/                   cvssp/audioldm2 in diffusers layout (or the folder itself)
    CHECKPOINT/imagebind_huge.pth           ImageBind checkpoint (default encoder)
    CHECKPOINT/clip/                        CLIPVisionModelWithProjection (alternative encoder)
    CHECKPOINT/art2mus_4_img_proj_layer.pt  aligner state dict (any *img_proj*.pt is taken)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from engines.errors import Art2MusError
from engines.specs import ModelDims
from export.aligner import load_aligner
from export.audioldm2 import AudioLDM2Parts, load_audioldm2
from export.clip_encoder import load_clip_encoder
from export.imagebind import load_imagebind_vision
from export.stages import EncoderStage, ProjectorStage, UNetStage, VocoderStage, remove_weight_norm

log = logging.getLogger(__name__)
ENCODERS = ("auto", "imagebind", "clip")


@dataclass(frozen=True)
class CheckpointPaths:
    audioldm2: Path
    encoder_kind: str
    encoder: Path
    aligner: Path


def locate(folder: Path, encoder: str = "auto") -> CheckpointPaths:
    if not folder.is_dir():
        raise Art2MusError(f"checkpoint folder {str(folder)!r} does not exist; see README 'Real weights' for its layout")
    if encoder not in ENCODERS:
        raise Art2MusError(f"encoder={encoder!r} is unknown; choose one of: {', '.join(ENCODERS)}")
    audioldm2 = folder / "audioldm2" if (folder / "audioldm2").is_dir() else folder
    imagebind, clip = folder / "imagebind_huge.pth", folder / "clip"
    if encoder == "auto":
        encoder = "imagebind" if imagebind.exists() or not clip.exists() else "clip"
    aligners = sorted(folder.glob("*img_proj*.pt"))
    if not aligners:
        raise Art2MusError(f"{folder} holds no aligner state dict; expected art2mus_4_img_proj_layer.pt beside audioldm2/")
    return CheckpointPaths(audioldm2, encoder, imagebind if encoder == "imagebind" else clip, aligners[0])


@dataclass
class LoadedCheckpoint:
    paths: CheckpointPaths
    parts: AudioLDM2Parts
    stages: dict[str, torch.nn.Module]
    dims: ModelDims
    new_tokens: int


def load_checkpoint(paths: CheckpointPaths) -> LoadedCheckpoint:
    parts = load_audioldm2(paths.audioldm2)
    if paths.encoder_kind == "imagebind":
        encoder = load_imagebind_vision(paths.encoder)
        image_size, embed_dim = encoder.config.image_size, encoder.config.out_dim
    else:
        encoder = load_clip_encoder(paths.encoder)
        image_size, embed_dim = encoder.image_size, encoder.out_dim
    gpt_width = parts.language_model.config.n_embd
    aligner = load_aligner(paths.aligner, gpt_width, embed_dim)
    new_tokens = int(getattr(parts.language_model.config, "max_new_tokens", 8) or 8)
    remove_weight_norm(parts.vocoder)
    cross = parts.unet.config.cross_attention_dim
    t5_dim = parts.text_encoder_2.config.d_model
    log.info("checkpoint: encoder %s (%d px -> %d), aligner %d tokens, GPT-2 %d wide, T5 %d wide, UNet cross %s",
             paths.encoder_kind, image_size, embed_dim, aligner.tokens, gpt_width, t5_dim, cross)
    dims = ModelDims(
        image_size=image_size, embedding_dim=embed_dim, loa_dim=gpt_width, loa_tokens=new_tokens, t5_dim=t5_dim,
        latent_channels=parts.unet.config.in_channels, mel_bins=parts.vocoder.config.model_in_dim,
        vae_scale_factor=parts.vae_scale_factor,
    )
    stages = {
        "encoder": EncoderStage(encoder),
        "projector": ProjectorStage(aligner, parts.language_model, new_tokens),
        "unet": UNetStage(parts.unet),
        "vocoder": VocoderStage(parts.vae, parts.vocoder),
    }
    for s in stages.values():
        s.eval()
    return LoadedCheckpoint(paths, parts, stages, dims, new_tokens)
