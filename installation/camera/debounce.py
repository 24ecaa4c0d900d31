"""Hysteresis over recognitions: an artwork is entered when it wins `enter_k` of the last
`enter_n` recognitions, left after `leave_seconds` without it, and held at least `min_dwell`."""

from __future__ import annotations

from collections import Counter, deque


class Debouncer:
    """Hysteresis over recognitions: enter on k of the last n, leave after a timeout, hold a minimum dwell."""

    def __init__(self, enter_k: int, enter_n: int, leave_seconds: float, min_dwell: float):
        self.k, self.window = enter_k, deque(maxlen=enter_n)
        self.leave_seconds, self.min_dwell = leave_seconds, min_dwell
        self.current: str | None = None
        self.entered_at = self.last_seen = 0.0

    def update(self, artwork_id: str | None, now: float) -> bool:
        """Feeds one recognition; True when the current artwork changed."""
        artwork_id = getattr(artwork_id, "artwork_id", artwork_id)
        self.window.append(artwork_id)
        if artwork_id is not None and artwork_id == self.current:
            self.last_seen = now
        votes = Counter(a for a in self.window if a is not None)
        leader, count = votes.most_common(1)[0] if votes else (None, 0)
        held = now - self.entered_at >= self.min_dwell
        if leader is not None and leader != self.current and count >= self.k and (self.current is None or held):
            self.current, self.entered_at, self.last_seen = leader, now, now
            return True
        if self.current is not None and now - self.last_seen >= self.leave_seconds and held:
            self.current, self.entered_at = None, now
            return True
        return False

    def force(self, artwork_id: str | None, now: float) -> None:
        """Sets the artwork without a vote (the source is gone: nobody can be seen)."""
        self.current, self.entered_at, self.last_seen = artwork_id, now, now
        self.window.clear()
