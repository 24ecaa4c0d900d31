"""Recognise, then confirm: a kiosk's camera and the works on its wall stay put, so once a work is
recognised its next frames only need to show it is still there, not to search the whole frame again.

The Tracker holds the last accepted work and where it was (recognizer.Held) and asks the Recognizer
to confirm it there (the same checks the search makes at that place, for that one work); when that
fails - a visitor in front, the light changed past recognition, another work, nobody - the frame is
searched as before. A confirmation can only say the held work or nothing: it never names a work
the search did not name first on an earlier frame.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from installation.recognition.recognizer import Held, Recognition, Recognizer


@dataclass
class TrackCounts:
    """How the frames were decided: confirmed where the work was held, searched (after a failed
    confirmation or with nothing held)."""
    confirmed: int = 0
    searched: int = 0  # every search, the periodic ones (Tracker.search_every) included
    failed: int = 0  # confirmations that did not hold (each followed by a search)


SEARCH_EVERY = 10  # confirmations in a row after which the frame is searched anyway (2 s at 5 Hz)


class Tracker:
    """Recognizer.recognize with the work last accepted confirmed first (see the module's docstring).
    After `search_every` confirmations in a row (0: none at all) the frame is searched all the same, and
    its answer replaces the held one: a confirmation only checks its own work, so a second work that came
    into view, or a search that now rejects what it once accepted, would otherwise never be heard."""

    def __init__(self, recognizer: Recognizer, search_every: int = SEARCH_EVERY):
        if search_every < 0:
            raise ValueError(f"Tracker search_every {search_every}: use 0 (always search) or more confirmations "
                             "between searches")
        self.recognizer = recognizer
        self.search_every = search_every
        self.held: Held | None = None
        self.in_a_row = 0  # confirmations since the last search
        self.counts = TrackCounts()

    def recognize(self, frame_bgr: np.ndarray) -> Recognition:
        """The artwork in the frame; `seconds` counts a failed confirmation too."""
        start = time.perf_counter()
        if self.held is not None and self.in_a_row < self.search_every:
            try:
                r = self.recognizer.confirm(frame_bgr, self.held)
            except Exception:
                self.forget()  # not raised again on every later frame: the next one is searched
                raise
            if r.artwork_id is not None:
                self.counts.confirmed += 1
                self.in_a_row += 1
                # The held place stays the search's: a rough few-inlier quad must not drift it.
                return r
            self.counts.failed += 1
        r = self.recognizer.recognize(frame_bgr)
        self.counts.searched += 1
        self.in_a_row = 0
        assert r.artwork_id is None or r.held is not None, r  # every accepted way says what confirms it
        self.held = r.held if r.artwork_id is not None else None
        return replace(r, seconds=time.perf_counter() - start)

    def forget(self) -> None:
        """Nothing held: the next frame is searched (a new source, a reconnected camera)."""
        self.held, self.in_a_row = None, 0
