"""Drowsiness (fatigue) trackers: pure state machines, time passed in, seconds not frames.

* :class:`EyeClosureTracker` — closure run length, blinks, microsleeps, long closures, PERCLOS.
* :class:`YawnTracker` — sustained wide-open mouth (talking and laughing are shorter).
"""

from __future__ import annotations

from collections import deque

from edge_monitor.config import FatigueConfig
from edge_monitor.types import Event


class _RecentCounter:
    """Times of past occurrences, counted over a trailing window."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.total = 0
        self._times: deque[float] = deque()

    def add(self, t: float) -> None:
        self.total += 1
        self._times.append(t)

    def count(self, now: float) -> int:
        while self._times and self._times[0] < now - self.window_s:
            self._times.popleft()
        return len(self._times)


class _RunTimer:
    """Times runs of a per-frame yes/no signal that may be unobserved (None) for a while.

    A run ends once "no" has been seen for ``reopen_s`` (hysteresis in time: one or two noisy
    frames do not split a run; it then ends at the first of those "no"s), or, after a gap of more
    than ``max_gap_s`` without observations, at its last "yes".

    Args:
        reopen_s: How long "no" must last to end a run (0: the first "no" ends it).
        max_gap_s: Observations further apart than this are a gap.
    """

    def __init__(self, reopen_s: float, max_gap_s: float) -> None:
        self._reopen_s = reopen_s
        self._max_gap_s = max_gap_s
        self.start: float | None = None
        self._last_yes: float | None = None
        self._first_no: float | None = None  # start of the "no" stretch inside a run
        self._last_obs: float | None = None

    @property
    def length_s(self) -> float:
        """Length of the current run so far (0 when there is none)."""
        return 0.0 if self.start is None else self._last_yes - self.start

    def update(self, now: float, yes: bool | None) -> tuple[float, float] | None:
        """Feed one observation; returns ``(start, end)`` of a run that ended."""
        ended = None
        gap = self._last_obs is not None and now - self._last_obs > self._max_gap_s
        if self.start is not None and gap:
            ended = (self.start, self._first_no if self._first_no is not None else self._last_yes)
            self.start = self._first_no = None
        if yes is None:
            return ended
        self._last_obs = now
        if yes:
            self.start = now if self.start is None else self.start
            self._last_yes = now
            self._first_no = None
        elif self.start is not None:
            self._first_no = now if self._first_no is None else self._first_no
            if now - self._first_no >= self._reopen_s:
                ended = (self.start, self._first_no)
                self.start = self._first_no = None
        return ended


class EyeClosureTracker:
    """Eye closures over time from a per-frame closed probability.

    A closure ends when the eyes have been seen open for ``reopen_s`` (so one or two noisy frames
    do not split a long closure; it ends where they opened), or when no eye observation arrives
    for ``max_gap_s`` (it then ends at the last closed observation). On its end it is a
    blink (≤ ``blink_max_s``), a ``microsleep`` (≥ ``microsleep_s``) and, if ≥ ``long_closure_s``,
    also an ``eyes_closed`` event. While a closure lasts, :attr:`closed_s` grows, so the policy can
    raise the alarm during a long closure, not only after it.

    PERCLOS is the share of observed time in the last ``perclos_window_s`` with the eyes closed;
    it is reported once at least ``perclos_min_coverage`` of the window has been observed.

    The eye state comes decided (:class:`edge_monitor.decisions.DriverDecisions`: the eye model's
    P(closed) against ``eyes.closed_threshold``, with the landmarks' eye opening when there are some).

    Args:
        cfg: Fatigue settings.
    """

    def __init__(self, cfg: FatigueConfig) -> None:
        self._cfg = cfg
        self._closure = _RunTimer(cfg.reopen_s, cfg.max_gap_s)
        self._last_obs_t: float | None = None
        self._obs: deque[tuple[float, float, bool]] = deque()  # (t, dt, closed)
        self._observed_s = 0.0
        self._closed_sum_s = 0.0
        self._perclos_high = False
        self.perclos: float | None = None
        self.max_perclos = 0.0
        self.blinks = 0
        self._blink_total_s = 0.0
        self.microsleeps = _RecentCounter(cfg.repeat_window_s)
        self.long_closures = 0

    @property
    def closed_s(self) -> float:
        """How long the eyes have been closed in the current closure (0 when open)."""
        return self._closure.length_s

    @property
    def blink_mean_s(self) -> float | None:
        """Mean blink duration, None before the first blink."""
        return self._blink_total_s / self.blinks if self.blinks else None

    def _closure_ended(self, start: float, end: float, frame: int, events: list[Event]) -> None:
        duration = end - start
        data = {"start_t": round(start, 3), "duration_s": round(duration, 3)}
        if duration <= self._cfg.blink_max_s:
            self.blinks += 1
            self._blink_total_s += duration
        if duration >= self._cfg.microsleep_s:
            self.microsleeps.add(end)
            events.append(Event("microsleep", end, frame, dict(data)))
        if duration >= self._cfg.long_closure_s:
            self.long_closures += 1
            events.append(Event("eyes_closed", end, frame, dict(data)))

    def _update_perclos(self, now: float, closed: bool, frame: int, events: list[Event]) -> None:
        if self._last_obs_t is not None:
            dt = now - self._last_obs_t
            if 0 < dt <= self._cfg.max_gap_s:
                self._obs.append((now, dt, closed))
                self._observed_s += dt
                self._closed_sum_s += dt * closed
        horizon = now - self._cfg.perclos_window_s
        while self._obs and self._obs[0][0] <= horizon:
            _, dt, was_closed = self._obs.popleft()
            self._observed_s -= dt
            self._closed_sum_s -= dt * was_closed
        if not self._obs:
            self._observed_s = self._closed_sum_s = 0.0  # no drift from float subtraction
        if self._observed_s < self._cfg.perclos_min_coverage * self._cfg.perclos_window_s:
            self.perclos = None
            return
        self.perclos = max(0.0, self._closed_sum_s / self._observed_s)
        self.max_perclos = max(self.max_perclos, self.perclos)
        warn = self._cfg.perclos_warning
        # Hysteresis: rise at the threshold, fall below perclos_clear_ratio of it, so noise cannot flap it.
        if self._perclos_high:
            flips = self.perclos < self._cfg.perclos_clear_ratio * warn
        else:
            flips = self.perclos >= warn
        if flips:
            self._perclos_high = not self._perclos_high
            data = {"value": round(self.perclos, 4), "threshold": warn, "above": self._perclos_high}
            events.append(Event("perclos", now, frame, data))

    def observe(self, now: float, frame: int, closed: bool | None) -> list[Event]:
        """Feed one frame's decided eye state (None: unknown); returns the events raised."""
        events: list[Event] = []
        ended = self._closure.update(now, closed)
        if ended is not None:
            self._closure_ended(*ended, frame, events)
        if closed is not None:
            self._update_perclos(now, closed, frame, events)
            self._last_obs_t = now
        return events


class YawnTracker:
    """Yawns: the mouth wide open for at least ``yawn_min_s``.

    A run survives a closed stretch shorter than ``yawn_reopen_s``. With face landmarks
    the ``yawn`` event carries the run's peak mouth opening (inner-lip opening over mouth width).

    Args:
        cfg: Fatigue settings.
    """

    def __init__(self, cfg: FatigueConfig) -> None:
        self._cfg = cfg
        self._open = _RunTimer(cfg.yawn_reopen_s, cfg.max_gap_s)
        self._peak: float | None = None
        self.yawns = _RecentCounter(cfg.repeat_window_s)

    def observe(
        self, now: float, frame: int, wide_open: bool | None, opening: float | None = None
    ) -> list[Event]:
        """Feed one frame's decision (None: mouth not seen) and its mouth opening if measured."""
        ended = self._open.update(now, wide_open)
        peak = self._peak  # of the run that may have just ended (this frame is not part of it)
        if ended is not None:
            self._peak = None
        if wide_open and opening is not None:
            self._peak = opening if self._peak is None else max(self._peak, opening)
        if ended is None:
            return []
        if ended[1] - ended[0] < self._cfg.yawn_min_s:
            return []
        start, end = ended
        self.yawns.add(end)
        data = {"start_t": round(start, 3), "duration_s": round(end - start, 3)}
        if peak is not None:
            data["peak_mouth_open"] = round(peak, 3)
        return [Event("yawn", end, frame, data)]
