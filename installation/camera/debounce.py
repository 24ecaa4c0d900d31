"""Hysteresis over recognitions: an artwork is entered when it wins `enter_k` of the last
`enter_n` recognitions - or, fed whole Recognitions, when the evidence of the visit's frames
together is enough (see Debouncer) - left after `leave_seconds` without it, and held at least
`min_dwell`."""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from dataclasses import dataclass


@dataclass(frozen=True)
class VisitEvidence:
    """How the frames of one visit decide together (used when the debouncer is fed Recognitions).
    Over the last `frames` recognitions, each accepted one adds its confidence (at least
    `accepted_floor`) to its work, and each rejected one whose best candidate is a work adds `weak`
    times its confidence (the verifier's probability for that candidate, when at least `weak_from`)
    to it: a borderline frame (the work was the best candidate, but not sure enough alone) supports
    its neighbours as much as it was sure. A work is entered when it is the only work accepted over
    those frames, at least `min_accepted` times, its evidence reaches `enter`, and it has `lead`
    times the evidence of any other work."""
    # Tuned on renderer 2's visits, held out on renderer 1's (benchmarks/crossval_recognition.py --visits):
    # 3 accepts of 8 frames with no rival. Borderline frames weighed by their confidence (weak 0.5-1.0) or
    # 1-2 accepts (what crossval picks on seed 1, both ways) enter 1-4 more of renderer 2's 150 visits
    # within 1.5 s, but on seed 2 they also entered an unknown work accepted twice in one visit (1 of
    # renderer 1's 50 negative visits): music for the wrong work costs more than none, so not by default.
    # Again on 2026-12-04 (300 visits per set, the verifier refitted): crossval picks one accept with
    # borderline frames at 0.5 or more adding up to 1.5 (renderer 2's seed-2 visits, tracked, 210 -> 213 of 225
    # within 1.5 s; renderer 3's 167 -> 175) and entered a wrong work in one of renderer 3's 225 seed-2 visits
    # (a landscape believed over its near twin at 0.55-0.73 in every frame, accepted twice); two accepts with
    # such frames (211, 171) entered it too on the search's frames (a still frame spared the Tracker's). This
    # setting does not: unchanged (docs/RECOGNITION.md, "Since 2026-12-04, fourth").
    frames: int = 8
    accepted_floor: float = 0.5
    weak: float = 0.0
    min_accepted: int = 3
    enter: float = 1.5
    lead: float = 2.0
    weak_from: float = 0.0

    def __post_init__(self):
        if not self.enter > max(1.0, self.accepted_floor):
            raise ValueError(f"VisitEvidence enter {self.enter}: use more than one frame's most "
                             f"({max(1.0, self.accepted_floor)}); a single frame is k of n's to decide")


def _observation(recognition) -> tuple[str | None, float, str | None]:
    """(accepted artwork id or None, the confidence, the best candidate of a rejected frame or None)
    of a Recognition, or of a bare artwork id (no evidence beyond the id). A rejected frame's
    confidence is how sure the recogniser was of that candidate (0: nothing could be compared)."""
    if recognition is None or isinstance(recognition, str):
        return recognition, 1.0, None
    accepted = recognition.artwork_id
    if accepted is not None:
        return accepted, float(recognition.confidence), None
    candidates = recognition.candidates or []  # verify.Candidate rows, the believed first
    best = candidates[0].work if candidates else None
    return None, float(recognition.confidence), best


class Debouncer:
    """Hysteresis over recognitions: enter on k of the last n (or on a visit's evidence), leave after a
    timeout, hold a minimum dwell."""

    def __init__(self, enter_k: int, enter_n: int, leave_seconds: float, min_dwell: float,
                 evidence: VisitEvidence | None = VisitEvidence()):
        self.k, self.window = enter_k, deque(maxlen=enter_n)
        self.leave_seconds, self.min_dwell = leave_seconds, min_dwell
        self.evidence = evidence
        self.visit: deque = deque(maxlen=evidence.frames if evidence else 1)  # (accepted, confidence, best)
        self.current: str | None = None
        self.entered_at = self.last_seen = 0.0

    def update(self, recognition, now: float) -> bool:
        """Feeds one recognition (a Recognition, or just its artwork id); True when the current
        artwork changed. Only a Recognition brings the evidence of rejected frames."""
        artwork_id, confidence, best = _observation(recognition)
        self.window.append(artwork_id)
        if recognition is None or isinstance(recognition, str):
            self.visit.clear()  # a bare id brings no evidence: k of n alone decides
        elif self.evidence is not None:
            self.visit.append((artwork_id, confidence, best))
        if artwork_id is not None and artwork_id == self.current:
            self.last_seen = now
        votes = Counter(a for a in self.window if a is not None)
        leader, count = votes.most_common(1)[0] if votes else (None, 0)
        entering = leader if count >= self.k else self._by_evidence()
        held = now - self.entered_at >= self.min_dwell
        if entering is not None and entering != self.current and (self.current is None or held):
            self.current, self.entered_at, self.last_seen = entering, now, now
            return True
        if self.current is not None and now - self.last_seen >= self.leave_seconds and held:
            # The visit has ended, as when the source goes: its frames must not re-enter the work on the
            # next update (where recognition is slow, a second without the work is only a few frames, and
            # the visit's accepted ones were still in the evidence window).
            self.force(None, now)
            return True
        return False

    def _by_evidence(self) -> str | None:
        """The work the visit's frames together support enough (VisitEvidence), or None."""
        e = self.evidence
        if e is None:
            return None
        support: dict[str, float] = defaultdict(float)
        accepted: Counter = Counter()
        for artwork_id, confidence, best in self.visit:
            if artwork_id is not None:
                support[artwork_id] += max(confidence, e.accepted_floor)
                accepted[artwork_id] += 1
            elif best is not None and confidence >= e.weak_from:
                support[best] += e.weak * confidence
        if len(accepted) != 1:
            return None  # nothing accepted, or two works accepted in one visit: k of n alone decides
        ranked = sorted(support.items(), key=lambda kv: -kv[1])
        leader, value = ranked[0]
        rival = ranked[1][1] if len(ranked) > 1 else 0.0
        if accepted[leader] >= e.min_accepted and value >= e.enter and value >= e.lead * rival:
            return leader
        return None

    def force(self, artwork_id: str | None, now: float) -> None:
        """Sets the artwork without a vote (the source is gone: nobody can be seen)."""
        self.current, self.entered_at, self.last_seen = artwork_id, now, now
        self.window.clear()
        self.visit.clear()
