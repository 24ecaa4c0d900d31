"""Numpy diffusion schedulers that reproduce diffusers' DDIMScheduler and DPMSolverMultistepScheduler
(DPM-Solver++ 2M) for the configuration a checkpoint's scheduler_config.json gives.

Only the options the AudioLDM 2 family uses are implemented; any other value is refused by name
rather than silently computed differently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engines.errors import Art2MusError

SCHEDULERS = ("dpm", "ddim")


@dataclass(frozen=True)
class NoiseSchedule:
    num_train_timesteps: int
    alphas_cumprod: np.ndarray  # float32, as diffusers keeps it
    prediction_type: str
    timestep_spacing: str
    steps_offset: int
    set_alpha_to_one: bool
    clip_sample: bool
    clip_sample_range: float


def _require(config: dict, key: str, allowed: tuple, default):
    value = config.get(key, default)
    if value not in allowed:
        raise Art2MusError(
            f"scheduler config {key}={value!r} is not supported; supported: {', '.join(map(repr, allowed))}. "
            "Re-export the bundle from a checkpoint with a standard AudioLDM 2 scheduler."
        )
    return value


def noise_schedule(config: dict) -> NoiseSchedule:
    """Builds the betas/alphas exactly as diffusers does (float32 torch maths)."""
    n = int(config.get("num_train_timesteps", 1000))
    beta_start = float(config.get("beta_start", 0.0001))
    beta_end = float(config.get("beta_end", 0.02))
    schedule = _require(config, "beta_schedule", ("scaled_linear", "linear"), "linear")
    if config.get("trained_betas") is not None:
        betas = np.asarray(config["trained_betas"], dtype=np.float32)
    elif schedule == "linear":
        betas = np.linspace(beta_start, beta_end, n, dtype=np.float32)
    else:
        betas = (np.linspace(beta_start**0.5, beta_end**0.5, n, dtype=np.float32) ** 2).astype(np.float32)
    _require(config, "rescale_betas_zero_snr", (False,), False)
    _require(config, "thresholding", (False,), False)
    alphas_cumprod = np.cumprod((1.0 - betas).astype(np.float32), dtype=np.float32)
    return NoiseSchedule(
        num_train_timesteps=n,
        alphas_cumprod=alphas_cumprod,
        prediction_type=_require(config, "prediction_type", ("epsilon", "v_prediction"), "epsilon"),
        timestep_spacing=_require(config, "timestep_spacing", ("leading", "trailing", "linspace"), "leading"),
        steps_offset=int(config.get("steps_offset", 0)),
        set_alpha_to_one=bool(config.get("set_alpha_to_one", True)),
        clip_sample=bool(config.get("clip_sample", False)),
        clip_sample_range=float(config.get("clip_sample_range", 1.0)),
    )


def _check_steps(steps: int) -> None:
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise Art2MusError(f"steps={steps!r} must be a whole number >= 1, e.g. --steps 25")


class DDIMScheduler:
    """diffusers.DDIMScheduler with eta=0 (deterministic), the reference sampler of Art2Mus."""

    name = "ddim"

    def __init__(self, schedule: NoiseSchedule, steps: int):
        _check_steps(steps)
        s = schedule
        if steps > s.num_train_timesteps:
            raise Art2MusError(f"steps={steps} exceeds the {s.num_train_timesteps} training timesteps; use fewer steps")
        self.s = s
        self.step_ratio = s.num_train_timesteps // steps
        if s.timestep_spacing == "leading":
            t = (np.arange(0, steps) * self.step_ratio).round()[::-1].astype(np.int64) + s.steps_offset
        elif s.timestep_spacing == "trailing":
            t = np.round(np.arange(s.num_train_timesteps, 0, -s.num_train_timesteps / steps)).astype(np.int64) - 1
        else:
            t = np.linspace(0, s.num_train_timesteps - 1, steps).round()[::-1].astype(np.int64)
        self.timesteps = t
        self.final_alpha_cumprod = np.float32(1.0) if s.set_alpha_to_one else s.alphas_cumprod[0]

    def step(self, model_output: np.ndarray, t: int, sample: np.ndarray) -> np.ndarray:
        s = self.s
        prev_t = int(t) - self.step_ratio
        a_t = s.alphas_cumprod[int(t)]
        a_prev = s.alphas_cumprod[prev_t] if prev_t >= 0 else self.final_alpha_cumprod
        b_t = 1 - a_t
        if s.prediction_type == "epsilon":
            x0 = (sample - np.sqrt(b_t) * model_output) / np.sqrt(a_t)
            eps = model_output
        else:  # v_prediction
            x0 = np.sqrt(a_t) * sample - np.sqrt(b_t) * model_output
            eps = np.sqrt(a_t) * model_output + np.sqrt(b_t) * sample
        if s.clip_sample:
            x0 = np.clip(x0, -s.clip_sample_range, s.clip_sample_range)
        prev = np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev) * eps
        return prev.astype(np.float32)


class DPMSolverMultistepScheduler:
    """diffusers.DPMSolverMultistepScheduler with its defaults: DPM-Solver++, order 2, midpoint,
    lower-order final steps, final sigma zero; timestep spacing and offset from the checkpoint config
    (as `DPMSolverMultistepScheduler.from_config(ddim.config)` inherits them)."""

    name = "dpm"

    def __init__(self, schedule: NoiseSchedule, steps: int):
        _check_steps(steps)
        s = self.s = schedule
        n = s.num_train_timesteps
        if steps >= n:
            raise Art2MusError(f"steps={steps} must be below the {n} training timesteps; use fewer steps")
        if s.timestep_spacing == "linspace":
            t = np.linspace(0, n - 1, steps + 1).round()[::-1][:-1].copy().astype(np.int64)
        elif s.timestep_spacing == "leading":
            ratio = n // (steps + 1)
            t = (np.arange(0, steps + 1) * ratio).round()[::-1][:-1].copy().astype(np.int64) + s.steps_offset
        else:
            t = np.arange(n, 0, -n / steps).round().copy().astype(np.int64) - 1
        ac = s.alphas_cumprod.astype(np.float64)
        sigmas = np.interp(t, np.arange(0, n), ((1 - ac) / ac) ** 0.5)
        self.sigmas = np.concatenate([sigmas, [0.0]]).astype(np.float32)
        self.timesteps = t
        self.model_outputs: list = [None, None]
        self.lower_order_nums = 0
        self.index = 0

    @staticmethod
    def _alpha_sigma(sigma: float) -> tuple[float, float]:
        alpha = 1.0 / np.sqrt(np.float64(sigma) ** 2 + 1.0)
        return alpha, np.float64(sigma) * alpha

    @staticmethod
    def _lambda(alpha: float, sigma: float) -> float:
        with np.errstate(divide="ignore"):  # sigma 0 at the last step gives +inf, as in torch
            return np.log(alpha) - np.log(sigma)

    def _x0(self, model_output: np.ndarray, sample: np.ndarray) -> np.ndarray:
        alpha, sigma = self._alpha_sigma(self.sigmas[self.index])
        if self.s.prediction_type == "epsilon":
            return (sample - sigma * model_output) / alpha
        return alpha * sample - sigma * model_output

    def step(self, model_output: np.ndarray, t: int, sample: np.ndarray) -> np.ndarray:
        i, n = self.index, len(self.timesteps)
        lower_final = i == n - 1  # final_sigmas_type "zero" always ends with a first-order step
        x0 = self._x0(model_output, sample)
        self.model_outputs = [self.model_outputs[1], x0]
        alpha_t, sigma_t = self._alpha_sigma(self.sigmas[i + 1])
        alpha_s0, sigma_s0 = self._alpha_sigma(self.sigmas[i])
        h = self._lambda(alpha_t, sigma_t) - self._lambda(alpha_s0, sigma_s0)
        decay = alpha_t * (np.exp(-h) - 1.0)
        if self.lower_order_nums < 1 or lower_final:
            prev = (sigma_t / sigma_s0) * sample - decay * x0
        else:
            alpha_s1, sigma_s1 = self._alpha_sigma(self.sigmas[i - 1])
            h0 = self._lambda(alpha_s0, sigma_s0) - self._lambda(alpha_s1, sigma_s1)
            d1 = (1.0 / (h0 / h)) * (x0 - self.model_outputs[0])
            prev = (sigma_t / sigma_s0) * sample - decay * x0 - 0.5 * decay * d1
        self.lower_order_nums = min(self.lower_order_nums + 1, 2)
        self.index += 1
        return prev.astype(np.float32)


def make_scheduler(name: str, config: dict, steps: int):
    schedule = noise_schedule(config)
    if name == "dpm":
        return DPMSolverMultistepScheduler(schedule, steps)
    if name == "ddim":
        return DDIMScheduler(schedule, steps)
    raise Art2MusError(f"scheduler={name!r} is unknown; choose one of: {', '.join(SCHEDULERS)}")
