"""Recognise, then confirm: a kiosk's camera and the works on its wall stay put, so once a work is
recognised its next frames only need to show it is still there, not to search the whole frame again.

The Tracker holds the last accepted work and where it was (recognizer.Held) and asks the Recognizer
to confirm it there (the same checks the search makes at that place, for that one work); when that
fails - a visitor in front, the light changed past recognition, another work, nobody - the frame is
searched as before. A confirmation can only say the held work or nothing: it never names a work
the search did not name first on an earlier frame. Nor does it hold a work that one search alone
accepted by the low-texture decision or its grain: such a work is accepted a second time on the next
frame before it is confirmed (or given to a still scene) - decided again where its outline is found
anew (Recognizer.recheck, about half a search), or, where that does not accept it, by a search.
Confirmations weigh fewer rivals than a search, so a single search's mistake (an unknown work taken
for a catalog one at one moment's light) would otherwise be repeated by every confirmation after it,
where a search says none, until the debouncer entered it; the held quad measured again repeats it too,
the outline found anew does not (docs/RECOGNITION.md, "Since 2026-12-06, tenth"). A keypoint match is held at once:
its confirmation is the search's own keypoint check of that work.

Before either, a frame that shows the scene of a frame searched or confirmed a moment ago (an empty
wall, a work on its wall with nobody in front, a visitor standing still) gets that frame's answer,
checked by nothing: most of a kiosk's day is such frames, and a search costs ~100 ms of a core, a
confirmation 1-25. The scene is the same when next to none of a small grey copy of the frame changed
(Scene): a visitor walking in, a light switched on, a work hung or taken down change far more of it
than a camera's noise does. Not only the last frame's scene is kept but the last SCENES_KEPT: a
visitor who steps in front of the work and out again brings back the scene of the frames before
(searched for again until then), and an earlier scene is taken only with the answer the tracker now
holds (the held work, or none where none is held), so a scene never brings back a work since replaced.
A rejection the verifier scored a near thing (within STILL_DOUBT of its threshold: a work in view whose frames
decide one way or the other by their noise) makes a scene that is not still until NEAR_SEARCHES frames of it in
a row were searched and came out near things too: the next frames are searched, as the next moments may decide
it, rather than one rejection repeated for the visit (renderer 2 seed 2's visit to work-0099 was lost so: frames
the search accepted given a rejection at 0.689 from a frame before); then it is still as any scene (searched every
search_every frames), so an unknown work that stays a near thing is not searched on every frame of a long stay,
each search a new chance to be taken. A clear rejection (an empty wall, a work far from any) is still at once.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, replace

import cv2
import numpy as np

from installation.recognition.recognizer import Held, Recognition, Recognizer, Sight


@dataclass
class TrackCounts:
    """How the frames were decided: still (the scene of a frame checked a moment ago), confirmed where the work
    was held, searched (after a failed confirmation, or a changed scene with nothing held)."""
    confirmed: int = 0
    searched: int = 0  # every search, the periodic ones (Tracker.search_every) included
    rechecked: int = 0  # second acceptances tried (Recognizer.recheck) after one search alone accepted its work by
    # the low-texture decision or its grain (before it is held); those that do not hold count as failed ...
    rechecked_held: int = 0  # ... and those that hold (counted as confirmed too)
    failed: int = 0  # confirmations or second acceptances that did not hold (each followed by a search)
    still: int = 0  # frames of a scene a frame searched or confirmed showed (Tracker.scenes), given its answer
    recalled: int = 0  # of them, frames of an earlier scene than the last one checked (a visitor gone again)
    glare_off: int = 0  # searches whose work was found on the second look, the frame's glare taken off


SEARCH_EVERY = 10  # confirmations (or still frames) in a row after which a frame is searched anyway: 2 s at 5 Hz
STILL_SIZE = (80, 60)  # the grey copy that tells a scene's change: a cell is 8x8 px of a 640x480 frame
STILL_LEVEL = 10.0  # grey levels a cell must change by to count (a camera's noise averaged over a cell: ~1)
STILL_SHARE = 0.005  # share of the cells that may change in a still scene: 24 cells, less than a 40x40 px patch
SCENES_KEPT = 5  # distinct scenes checked (searched or confirmed) a still frame may show, the latest kept
STILL_DOUBT = 0.2  # a rejection this close to the verifier's threshold is a near thing: its scene searched again ...
NEAR_SEARCHES = 8  # ... until this many of its frames in a row were (the debouncer's window, 1.6 s at 5 Hz)


@dataclass(frozen=True)
class Scene:
    """A frame searched or confirmed: its cells (a small grey copy), its size, and its answer."""
    cells: np.ndarray  # float32, STILL_SIZE
    frame_hw: tuple
    answer: Recognition
    near_things: int = 0  # frames of this scene in a row whose search was a near-thing rejection (Tracker._checked)

    def shows(self, cells: np.ndarray, frame_hw: tuple) -> bool:
        """Whether a frame (its cells and size) shows this scene: the same size, and at most STILL_SHARE
        of the cells changed by STILL_LEVEL or more."""
        return frame_hw == self.frame_hw and float(np.mean(np.abs(cells - self.cells) >= STILL_LEVEL)) <= STILL_SHARE


def cells_of(frame_bgr: np.ndarray) -> np.ndarray | None:
    """A frame's small grey copy (each cell the mean of its pixels: a camera's noise averages out); None
    for anything but a non-empty 8-bit BGR frame (searched: the search says what it makes of it)."""
    if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 or frame_bgr.dtype != np.uint8 or not frame_bgr.size:
        return None
    grey = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
    return cv2.resize(grey, STILL_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)


class Tracker:
    """Recognizer.recognize with a still scene given the answer of a recent frame checked in it, and the
    work last accepted (by keypoints, or accepted twice) confirmed first (see the module's
    docstring). After `search_every` confirmations or still frames in a row (0: no confirmation and no
    still frame at all) the frame is searched all the same, and its answer replaces the held one: a
    confirmation only checks its own work and a still frame checks nothing, so a second work that came
    into view, a search that now rejects what it once accepted, or a scene that changed too slowly to
    notice would otherwise never be heard."""

    def __init__(self, recognizer: Recognizer, search_every: int = SEARCH_EVERY):
        if search_every < 0:
            raise ValueError(f"Tracker search_every {search_every}: use 0 (always search) or more confirmations "
                             "between searches")
        self.recognizer = recognizer
        self.search_every = search_every
        self.held: Held | None = None
        self.trusted = False  # the held work may be confirmed: accepted by keypoints, or accepted twice
        self.scenes: deque[Scene] = deque(maxlen=SCENES_KEPT)  # the last frames searched or confirmed (last last)
        self.in_a_row = 0  # confirmations or still frames since the last search
        self.counts = TrackCounts()

    def recognize(self, frame_bgr: np.ndarray) -> Recognition:
        """The artwork in the frame; `seconds` counts the still check and a failed confirmation too."""
        start = time.perf_counter()
        again = self.held is not None and not self.trusted  # accepted once: to be accepted a second time
        due = self.in_a_row >= self.search_every or again
        cells = cells_of(frame_bgr) if self.search_every else None  # None: never still (and kept as no scene)
        hw = frame_bgr.shape[:2]
        scene = self._still_in(cells, hw) if cells is not None and not due else None
        if scene is not None:
            self.counts.still += 1
            self.counts.recalled += scene is not self.scenes[-1]
            self.in_a_row += 1
            return replace(scene.answer, seconds=time.perf_counter() - start, still=True)
        seen = frame_bgr  # or its Sight, where a confirmation looked at it first
        if self.held is not None and self.search_every and (again or not due):
            r, seen = self._held_checked(frame_bgr, again)
            if r.artwork_id is not None:
                self.counts.confirmed += 1
                self.in_a_row += 1
                if again:
                    self.trusted = True
                    self.counts.rechecked_held += 1
                    if r.method == "keypoints":  # verified by keypoints: held as any keypoint match is
                        self.held = r.held
                # Otherwise the held place stays the search's (a rough few-inlier quad must not drift it); the
                # scene is this frame's, checked.
                self._checked(cells, hw, r)
                return replace(r, seconds=time.perf_counter() - start)
            self.counts.failed += 1
        r = self.recognizer.recognize(seen)
        self.counts.searched += 1
        self.counts.glare_off += r.glare_off
        self.in_a_row = 0
        assert r.artwork_id is None or r.held is not None, r  # every accepted way says what confirms it
        before = self.held.artwork_id if self.held is not None else None
        self.trusted = r.artwork_id is not None and (r.method == "keypoints" or r.artwork_id == before)
        self.held = r.held if r.artwork_id is not None else None
        self._checked(cells, hw, r)
        return replace(r, seconds=time.perf_counter() - start)

    def _held_checked(self, frame_bgr: np.ndarray, again: bool) -> tuple[Recognition, np.ndarray | Sight]:
        """The held work confirmed, or (`again`: one search alone accepted it) accepted a second time; and the
        frame's Sight, for the search that follows a failure: what the confirmation worked out there (keypoints,
        votes, verified works, outlines) is not worked out again (Recognizer.sight)."""
        try:
            seen = self.recognizer.sight(frame_bgr) or frame_bgr  # a strip of pixels: recognised as none
            if again:
                self.counts.rechecked += 1
                return self.recognizer.recheck(seen, self.held), seen
            return self.recognizer.confirm(seen, self.held), seen
        except Exception:
            self.forget()  # not raised again on every later frame: the next one is searched
            raise

    def _still_in(self, cells: np.ndarray, hw: tuple) -> Scene | None:
        """The kept scene the frame shows, the latest first, among those whose answer names what is held now
        (an earlier scene's work may have been replaced since; the last scene's always names it) and that are not
        a near thing searched fewer than NEAR_SEARCHES times in a row (the module's docstring)."""
        holding = self.held.artwork_id if self.held is not None else None
        return next((s for s in reversed(self.scenes) if s.answer.artwork_id == holding and s.shows(cells, hw)
                     and not 0 < s.near_things < NEAR_SEARCHES), None)

    def _checked(self, cells: np.ndarray | None, hw: tuple, r: Recognition) -> None:
        """A frame searched or confirmed: its scene kept, in place of any kept scene it shows with the same
        answer (a still wall searched every search_every frames must not fill every place with itself); a
        near-thing rejection counts one more near thing than the scene it replaces had (the module's docstring). A frame
        without cells (not a BGR frame) or of another size (another camera mode, a new source) ends the kept
        scenes: what follows it is not known to be the scene they saw."""
        if cells is None or (self.scenes and self.scenes[-1].frame_hw != hw):
            self.scenes.clear()
        if cells is not None:
            same = [s.answer.artwork_id == r.artwork_id and s.shows(cells, hw) for s in self.scenes]
            near = r.artwork_id is None and r.confidence >= self.recognizer.s.verifier.threshold - STILL_DOUBT
            before = max((s.near_things for s, m in zip(self.scenes, same) if m), default=0)
            kept = [s for s, m in zip(self.scenes, same) if not m]
            self.scenes = deque(kept + [Scene(cells, hw, r, before + 1 if near else 0)], maxlen=SCENES_KEPT)

    def forget(self) -> None:
        """Nothing held and no scene known: the next frame is searched (a new source, a reconnected camera)."""
        self.held, self.in_a_row, self.trusted = None, 0, False
        self.scenes.clear()
