"""The numpy schedulers against diffusers' own, on the same model outputs, step by step."""

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler as RefDDIM
from diffusers import DPMSolverMultistepScheduler as RefDPM

from engines.errors import Art2MusError
from engines.schedulers import make_scheduler

AUDIOLDM2 = dict(num_train_timesteps=1000, beta_start=0.0015, beta_end=0.0195, beta_schedule="scaled_linear",
                 clip_sample=False, set_alpha_to_one=False, steps_offset=1, timestep_spacing="leading",
                 prediction_type="epsilon")


def _run(ours, ref, shape=(1, 8, 5, 4)):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape, dtype=np.float32)
    xr = torch.from_numpy(x.copy())
    np.testing.assert_array_equal(ours.timesteps, ref.timesteps.numpy())
    for t in ours.timesteps:
        eps = rng.standard_normal(shape, dtype=np.float32) * 0.5 + 0.1 * x
        x = ours.step(eps, t, x)
        xr = ref.step(torch.from_numpy(eps), torch.tensor(t), xr).prev_sample
    ref_np = xr.numpy()
    rel = np.linalg.norm(x - ref_np) / np.linalg.norm(ref_np)
    assert rel < 1e-5, rel


@pytest.mark.parametrize("spacing", ["leading", "trailing", "linspace"])
@pytest.mark.parametrize("steps", [1, 10, 50])
def test_ddim_matches_diffusers(spacing, steps):
    config = {**AUDIOLDM2, "timestep_spacing": spacing}
    ref = RefDDIM(**config)
    ref.set_timesteps(steps)
    _run(make_scheduler("ddim", config, steps), ref)


@pytest.mark.parametrize("spacing", ["leading", "trailing", "linspace"])
@pytest.mark.parametrize("steps", [1, 2, 8, 14, 15, 25])
@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction"])
def test_dpm_matches_diffusers(spacing, steps, prediction):
    config = {**AUDIOLDM2, "timestep_spacing": spacing, "prediction_type": prediction}
    ref = RefDPM.from_config(RefDDIM(**config).config)  # as a pipeline swaps schedulers
    ref.set_timesteps(steps)
    _run(make_scheduler("dpm", config, steps), ref)


def test_unsupported_settings_are_refused_by_name():
    with pytest.raises(Art2MusError, match="prediction_type='sample'"):
        make_scheduler("dpm", {**AUDIOLDM2, "prediction_type": "sample"}, 10)
    with pytest.raises(Art2MusError, match="scheduler='euler'"):
        make_scheduler("euler", AUDIOLDM2, 10)
    with pytest.raises(Art2MusError, match="steps=0"):
        make_scheduler("ddim", AUDIOLDM2, 0)
