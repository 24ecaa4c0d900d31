"""Proof that the exported pipeline computes Art2Mus: the tiny checkpoint run through diffusers'
own AudioLDM2Pipeline (its encode_prompt for the support/negative prompts, its GPT-2 generation
for the image tokens, its scheduler and denoising loop, its VAE + vocoder) against the project's
ONNX Runtime pipeline, from the same image, seed and initial latents."""

import numpy as np
import pytest
import torch
from diffusers import AudioLDM2Pipeline, DDIMScheduler, DPMSolverMultistepScheduler
from transformers import GPT2LMHeadModel

from engines.options import GenerationOptions
from engines.preprocess import read_image
from export.checkpoint import load_checkpoint, locate
from export.conditioning import NEGATIVE_PROMPT, SUPPORT_PROMPT

END_TO_END_TOLERANCE = 1e-3  # relative L2 of the waveform


@pytest.fixture(scope="module")
def reference(tiny_checkpoint):
    folder = tiny_checkpoint / "audioldm2"
    # transformers 5's bare GPT2Model lacks the generation helpers the stock pipeline calls;
    # the same weights load as GPT2LMHeadModel, as the pipeline's own type hint asks.
    pipe = AudioLDM2Pipeline.from_pretrained(folder, language_model=GPT2LMHeadModel.from_pretrained(folder / "language_model"))
    pipe.set_progress_bar_config(disable=True)
    ck = load_checkpoint(locate(tiny_checkpoint))
    with torch.no_grad():
        t5, mask, loa = pipe.encode_prompt(SUPPORT_PROMPT, "cpu", 1, True, negative_prompt=NEGATIVE_PROMPT)
    return pipe, ck, t5, mask, loa


def test_bundle_constants_equal_diffusers_encode_prompt(reference, pipeline):
    _, _, t5, mask, loa = reference
    c = pipeline.bundle.constants
    np.testing.assert_allclose(c["t5_tokens"], t5.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(c["t5_mask"], mask.numpy())
    np.testing.assert_allclose(c["negative_loa"], loa[:1].numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("scheduler,steps", [("dpm", 12), ("ddim", 6)])
def test_waveform_matches_diffusers_pipeline(reference, pipeline, artwork, scheduler, steps):
    pipe, ck, t5, mask, loa = reference
    seconds, seed = 0.5, 7
    pixels = pipeline.pixels(read_image(artwork))
    ours = pipeline.generate(pixels, GenerationOptions(seconds, steps, 3.5, scheduler, seed))[0]

    ddim = DDIMScheduler.from_config(pipe.scheduler.config)
    pipe.scheduler = ddim if scheduler == "ddim" else DPMSolverMultistepScheduler.from_config(ddim.config)
    with torch.no_grad():
        tokens = ck.stages["projector"].aligner(ck.stages["encoder"](torch.from_numpy(pixels)))
        image_loa = pipe.generate_language_model(tokens, attention_mask=torch.ones(tokens.shape[:2], dtype=torch.long),
                                                 max_new_tokens=ck.new_tokens)
        latents = torch.from_numpy(pipeline.initial_latents(seed, pipeline.clip_shape(seconds)))
        ref = pipe(
            prompt_embeds=t5[1:], attention_mask=mask[1:], generated_prompt_embeds=image_loa,
            negative_prompt_embeds=t5[:1], negative_attention_mask=mask[:1], negative_generated_prompt_embeds=loa[:1],
            num_inference_steps=steps, audio_length_in_s=seconds, guidance_scale=3.5, latents=latents,
            output_type="np",
        ).audios[0]
    assert ours.shape == ref.shape
    rel = np.linalg.norm(ours - ref) / np.linalg.norm(ref)
    assert rel < END_TO_END_TOLERANCE, f"{scheduler}: relative L2 {rel:.2e}"
    # The image matters: another picture gives another clip.
    other = pipeline.generate(pipeline.pixels(np.zeros((64, 64, 3), np.float32)), GenerationOptions(seconds, steps, 3.5, scheduler, seed))[0]
    assert np.linalg.norm(other - ours) / np.linalg.norm(ours) > 1e-3
