"""GenerationOptions: what one clip is made with, checked once where it is built (CLI flags,
config, a catalog entry's overrides) so no caller checks steps, seconds or the scheduler again.
The bundle still decides the longest clip it can make (Art2MusPipeline.clip_shape)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from engines.errors import Art2MusError
from engines.schedulers import SCHEDULERS

MAX_SECONDS = 60.0
MAX_STEPS = 999
MAX_GUIDANCE = 20.0
MAX_SEED = 2**32 - 1  # numpy's generators take any int; kept in 32 bits for logs and headers


@dataclass(frozen=True)
class GenerationOptions:
    seconds: float
    steps: int
    guidance: float
    scheduler: str = "dpm"
    seed: int | None = None  # None: the caller picks one per clip (fresh seeds)
    origin: str = "generation"  # where the values came from, named in errors ("catalog.yaml artwork 'x'")

    def __post_init__(self) -> None:
        self._check()

    def _fail(self, key: str, value, allowed: str) -> None:
        raise Art2MusError(f"{self.origin}: {key}={value!r} {allowed}")

    def _check(self) -> None:
        s = self.seconds
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not math.isfinite(s) or not 0 < s <= MAX_SECONDS:
            self._fail("seconds", s, f"must be a number above 0 and at most {MAX_SECONDS:g}, e.g. 10.24")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or not 1 <= self.steps <= MAX_STEPS:
            self._fail("steps", self.steps, f"must be a whole number from 1 to {MAX_STEPS}, e.g. 25")
        g = self.guidance
        if isinstance(g, bool) or not isinstance(g, (int, float)) or not math.isfinite(g) or not 1 <= g <= MAX_GUIDANCE:
            self._fail("guidance", g, f"must be a number from 1 (no guidance) to {MAX_GUIDANCE:g}; Art2Mus uses 3.5")
        if self.scheduler not in SCHEDULERS:
            self._fail("scheduler", self.scheduler, f"is unknown; choose one of: {', '.join(SCHEDULERS)}")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)
                                      or not 0 <= self.seed <= MAX_SEED):
            self._fail("seed", self.seed, f"must be a whole number from 0 to {MAX_SEED}")

    def replace(self, **changes) -> GenerationOptions:
        """A copy with some fields changed, checked again."""
        return dataclasses.replace(self, **changes)

    def with_seed(self, seed: int) -> GenerationOptions:
        return self.replace(seed=seed)

    def provenance(self) -> dict:
        """What a clip's header and cache entry carry about how it was made."""
        return {"seconds": self.seconds, "steps": self.steps, "guidance": self.guidance, "scheduler": self.scheduler,
                "seed": self.seed}
