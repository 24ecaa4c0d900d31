"""The one Engine interface every backend implements (one backend per file)."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from engines.specs import StageSpec


class Engine(ABC):
    """A loaded stage: named numpy inputs in, named numpy outputs out."""

    def __init__(self, spec: StageSpec):
        self.spec = spec

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    @abstractmethod
    def provider(self) -> str:
        """What actually runs the stage (e.g. 'CPUExecutionProvider'), for logs, bench and doctor."""

    @abstractmethod
    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Runs the stage once."""
