"""A tiny random-weight Art2Mus checkpoint in exactly the real files' layout, seeded and built in
seconds, so tests and the demo run the same loaders as real weights:

    DIR/audioldm2/                    diffusers AudioLDM2Pipeline.save_pretrained (cvssp/audioldm2 layout)
    DIR/imagebind_huge.pth            ImageBind key names (vision + a text-modality sample with -inf and int64)
    DIR/art2mus_4_img_proj_layer.pt   aligner state dict (4 tokens)
    DIR/clip/                         CLIPVisionModelWithProjection (the alternative encoder)
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from export.aligner import ImageAligner
from export.imagebind import ImageBindVision, VisionConfig

log = logging.getLogger(__name__)

GPT, T5, CLAP_PROJ, EMBED = 32, 40, 16, 48
WORDS = ("music representing the content of this artwork low quality a an sound song piano calm bright dark "
         "painting colour light").split()


def _byte_chars() -> list[str]:
    """GPT-2's byte-to-unicode table: every byte gets a printable character."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def _roberta_tokenizer():
    from transformers import RobertaTokenizer

    vocab = {t: i for i, t in enumerate(["<s>", "<pad>", "</s>", "<unk>"] + _byte_chars() + ["<mask>"])}
    return RobertaTokenizer(vocab=vocab, merges=[], model_max_length=64)


def _t5_tokenizer():
    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [("▁" + w, -3.0) for w in WORDS] + [(c, -5.0) for c in "abcdefghijklmnopqrstuvwxyz."]
    return T5Tokenizer(vocab=pieces, extra_ids=4, model_max_length=64)


def _audioldm2_pipeline():
    from diffusers import AudioLDM2Pipeline, AutoencoderKL, DDIMScheduler
    from diffusers.pipelines.audioldm2.modeling_audioldm2 import (
        AudioLDM2ProjectionModel,
        AudioLDM2UNet2DConditionModel,
    )
    from transformers import (ClapConfig, ClapFeatureExtractor, ClapModel, GPT2Config, GPT2Model,
                              SpeechT5HifiGan, SpeechT5HifiGanConfig, T5Config, T5EncoderModel)

    unet = AudioLDM2UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, norm_num_groups=8, in_channels=8, out_channels=8,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=[[None, GPT, T5]] * 2, attention_head_dim=8, sample_size=32,
    )
    vae = AutoencoderKL(
        block_out_channels=[16, 32, 32], in_channels=1, out_channels=1, latent_channels=8, norm_num_groups=8,
        down_block_types=["DownEncoderBlock2D"] * 3, up_block_types=["UpDecoderBlock2D"] * 3, layers_per_block=1,
        scaling_factor=0.4110932946205139, force_upcast=True,
    )
    text_cfg = dict(vocab_size=300, hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                    projection_dim=CLAP_PROJ, bos_token_id=0, pad_token_id=1, eos_token_id=2, max_position_embeddings=80)
    audio_cfg = dict(spec_size=64, window_size=4, num_mel_bins=64, intermediate_size=37, depths=[2, 2],
                     num_attention_heads=[2, 2], num_hidden_layers=2, hidden_size=192, projection_dim=CLAP_PROJ,
                     patch_size=2, patch_stride=2, patch_embed_input_channels=4)
    clap = ClapModel(ClapConfig(text_config=text_cfg, audio_config=audio_cfg, projection_dim=CLAP_PROJ))
    t5 = T5EncoderModel(T5Config(vocab_size=64, d_model=T5, d_kv=8, d_ff=37, num_layers=2, num_heads=2))
    gpt = GPT2Model(GPT2Config(n_embd=GPT, n_layer=2, n_head=2, n_positions=64, vocab_size=50, bos_token_id=0, eos_token_id=0))
    gpt.config.max_new_tokens = 8  # as in cvssp/audioldm2's language_model/config.json
    projection = AudioLDM2ProjectionModel(text_encoder_dim=CLAP_PROJ, text_encoder_1_dim=T5, langauge_model_dim=GPT)
    vocoder = SpeechT5HifiGan(SpeechT5HifiGanConfig(
        model_in_dim=16, sampling_rate=16000, upsample_initial_channel=64, upsample_rates=[5, 4, 2, 2, 2],
        upsample_kernel_sizes=[10, 8, 4, 4, 4], resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]],
        normalize_before=False, initializer_range=0.1,
    ))
    scheduler = DDIMScheduler(num_train_timesteps=1000, beta_start=0.0015, beta_end=0.0195,
                              beta_schedule="scaled_linear", clip_sample=False, set_alpha_to_one=False,
                              steps_offset=1, timestep_spacing="leading", prediction_type="epsilon")
    return AudioLDM2Pipeline(
        vae=vae, text_encoder=clap, text_encoder_2=t5, projection_model=projection, language_model=gpt,
        tokenizer=_roberta_tokenizer(), tokenizer_2=_t5_tokenizer(), feature_extractor=ClapFeatureExtractor(),
        unet=unet, scheduler=scheduler, vocoder=vocoder,
    )


def _imagebind_state() -> dict:
    model = ImageBindVision(VisionConfig(width=32, depth=2, heads=2, mlp=64, out_dim=EMBED, patch=14, frames=2,
                                         image_size=224))
    for p in model.parameters():  # zero-initialised parameters would hide a wrong key
        torch.nn.init.normal_(p, std=0.2)
    state = dict(model.state_dict())
    # Non-vision keys the real file holds: a causal text mask with -inf and int64 indices.
    state["modality_preprocessors.text.causal_mask"] = torch.full((4, 4), float("-inf")).triu(1)
    state["modality_trunks.audio.blocks.0.attn.relative_position_index"] = torch.arange(4, dtype=torch.int64)
    return state


def _clip_encoder():
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    return CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=2, patch_size=32,
        image_size=224, projection_dim=EMBED,
    ))


def make_tiny_checkpoint(out: Path, seed: int = 0) -> Path:
    """Writes the tiny checkpoint into `out` (created) and returns it."""
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    _audioldm2_pipeline().save_pretrained(out / "audioldm2")
    torch.save(_imagebind_state(), out / "imagebind_huge.pth")
    aligner = ImageAligner(EMBED, 2 * GPT, 4, GPT)
    torch.save(aligner.state_dict(), out / "art2mus_4_img_proj_layer.pt")
    _clip_encoder().save_pretrained(out / "clip")
    log.info("tiny checkpoint written to %s (seed %d)", out, seed)
    return out
