"""Opening hours: outside them the kiosk is quiet (the audio process plays silence, the generator
idles). The camera keeps watching, so the first visitor after opening is heard at once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from installation.config import DAYS, ScheduleConfig


@dataclass(frozen=True)
class OpeningHours:
    open: dt.time | None
    close: dt.time | None
    days: frozenset[int]  # 0 = Monday
    quiet: bool = False

    @classmethod
    def from_config(cls, cfg: ScheduleConfig) -> OpeningHours:
        def parse(value):
            return None if value is None else dt.time(*map(int, value.split(":")))

        return cls(parse(cfg.open), parse(cfg.close), frozenset(DAYS.index(d) for d in cfg.days), cfg.quiet)

    def open_at(self, now: dt.datetime) -> bool:
        if self.quiet:
            return False
        if self.open is None:
            return now.weekday() in self.days
        t = now.time()
        if self.open <= self.close:
            return now.weekday() in self.days and self.open <= t < self.close
        # Past midnight (open 18:00, close 02:00): the small hours belong to the day before.
        if t >= self.open:
            return now.weekday() in self.days
        return t < self.close and (now.weekday() - 1) % 7 in self.days

    def open_now(self) -> bool:
        return self.open_at(dt.datetime.now())
