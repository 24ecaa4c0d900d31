"""Loads the frozen AudioLDM 2 parts from a local diffusers-layout folder (cvssp/audioldm2 as
save_pretrained writes it). Everything is loaded in float32 on purpose: the CLAP config says
float64, which transformers 5 would honour and then fail on a Double/Float mismatch."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from engines.errors import Art2MusError

log = logging.getLogger(__name__)

COMPONENTS = ("unet", "vae", "vocoder", "language_model", "projection_model", "text_encoder", "text_encoder_2",
              "tokenizer", "tokenizer_2", "scheduler")


@dataclass
class AudioLDM2Parts:
    folder: Path
    unet: torch.nn.Module
    vae: torch.nn.Module
    vocoder: torch.nn.Module
    language_model: torch.nn.Module
    projection_model: torch.nn.Module
    text_encoder: torch.nn.Module
    text_encoder_2: torch.nn.Module
    tokenizer: object
    tokenizer_2: object
    scheduler_config: dict

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def hop(self) -> int:
        hop = 1
        for r in self.vocoder.config.upsample_rates:
            hop *= r
        return hop


def _check_folder(folder: Path) -> None:
    if not (folder / "model_index.json").is_file():
        raise Art2MusError(
            f"{str(folder)!r} is not a diffusers AudioLDM 2 folder (no model_index.json); download cvssp/audioldm2 "
            "once on a machine with internet (huggingface-cli download cvssp/audioldm2 --local-dir DIR)"
        )
    missing = [c for c in COMPONENTS if not (folder / c).is_dir()]
    if missing:
        raise Art2MusError(f"AudioLDM 2 folder {folder} lacks the subfolder(s) {', '.join(missing)}; re-download it")


def _load(kind: str, folder: Path, loader):
    try:
        return loader(folder / kind)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise Art2MusError(f"AudioLDM 2 component {kind!r} in {folder / kind} could not be loaded: {exc}") from exc


def load_audioldm2(folder: Path) -> AudioLDM2Parts:
    from diffusers import AutoencoderKL
    from diffusers.pipelines.audioldm2.modeling_audioldm2 import (
        AudioLDM2ProjectionModel,
        AudioLDM2UNet2DConditionModel,
    )
    from transformers import AutoTokenizer, ClapModel, GPT2Model, SpeechT5HifiGan, T5EncoderModel

    _check_folder(folder)
    f32 = torch.float32
    # diffusers takes torch_dtype, transformers 5 takes dtype; both prefer .safetensors over .bin.
    parts = AudioLDM2Parts(
        folder=folder,
        unet=_load("unet", folder, lambda p: AudioLDM2UNet2DConditionModel.from_pretrained(p, torch_dtype=f32)),
        vae=_load("vae", folder, lambda p: AutoencoderKL.from_pretrained(p, torch_dtype=f32)),
        vocoder=_load("vocoder", folder, lambda p: SpeechT5HifiGan.from_pretrained(p, dtype=f32)),
        # GPT2Model as model_index.json names it; the 8 generation steps are unrolled by us (export/stages.py).
        language_model=_load("language_model", folder, lambda p: GPT2Model.from_pretrained(p, dtype=f32)),
        projection_model=_load("projection_model", folder,
                               lambda p: AudioLDM2ProjectionModel.from_pretrained(p, torch_dtype=f32)),
        text_encoder=_load("text_encoder", folder, lambda p: ClapModel.from_pretrained(p, dtype=f32)),
        text_encoder_2=_load("text_encoder_2", folder, lambda p: T5EncoderModel.from_pretrained(p, dtype=f32)),
        tokenizer=_load("tokenizer", folder, AutoTokenizer.from_pretrained),
        tokenizer_2=_load("tokenizer_2", folder, AutoTokenizer.from_pretrained),
        scheduler_config=_load("scheduler", folder, lambda p: json.loads((p / "scheduler_config.json").read_text())),
    )
    for module in (parts.unet, parts.vae, parts.vocoder, parts.language_model, parts.projection_model,
                   parts.text_encoder, parts.text_encoder_2):
        module.eval()
    return parts
