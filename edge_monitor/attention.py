"""Driver attention (Euro NCAP driver-state rules): pure trackers, the time passed in.

The input is one per-frame judgement, ``away``: True when the driver is not watching the road
(the face absent, or the head turned beyond the driver's calibrated straight-ahead limits), False
when watching, None when it cannot be told (blank picture, unreliable landmarks). Every interval
between two frames takes the state of the earlier frame, so times do not depend on the frame rate.

* :class:`DistractionTimer` — away time that a short look back does not clear. A look back shorter
  than ``glance_reset_s`` refills it at ``glance_refill_rate`` (openpilot recovers awareness faster
  than it decays, never all at once), but never below the level it had reached, so the alert does
  not drop during a glance; ``glance_reset_s`` on the road clears it. Without this, a driver could
  keep the monitor quiet by glancing at the road every few seconds.
* :class:`VatsWindow` — visual attention time-sharing: away time summed over a sliding
  ``vats_window_s``; at ``vats_s`` it latches a warning until ``glance_reset_s`` on the road.
* :class:`ResponseTracker` — ``sleep`` (eyes closed longer than ``sleep_s``) and ``unresponsive``
  (eyes closed ``unresponsive_closed_s``; still away ``response_s`` after an attention warning;
  away ``unresponsive_away_s`` after an attention alarm) events, once per episode.
* :class:`AttentionTracker` — the three above, one call per frame.

``sleep`` and ``unresponsive`` are urgent (:data:`edge_monitor.types.URGENT_KINDS`): sinks that
batch (the fleet telemetry) send them at once. They do not change the alert level by themselves:
the eye-closure alarm and the distraction ladder (3/5/11 s, as openpilot) already sound, and keep
sounding while the cause lasts.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from edge_monitor.config import AttentionConfig
from edge_monitor.levels import rank
from edge_monitor.types import Event


class DistractionTimer:
    """Seconds of distraction: grows while away, refilled by short looks back, cleared by long ones.

    A short look back refills the timer, but never below the highest level threshold it had reached
    when the look began: the alert does not drop while the driver glances at the road and looks away
    again (only ``glance_reset_s`` on the road clears it), and at the alarm threshold it pauses, as
    openpilot restores no awareness at its red alert.

    Args:
        glance_reset_s: Continuous time on the road that clears the timer.
        refill_rate: Seconds taken off per second of a shorter look back (0: the timer pauses).
        thresholds: The level thresholds (notice, warning, alarm) the refill does not cross.
    """

    def __init__(self, glance_reset_s: float, refill_rate: float, thresholds: tuple[float, ...] = ()) -> None:
        self._reset_s = glance_reset_s
        self._refill = refill_rate
        self._thresholds = tuple(sorted(thresholds))
        self.value_s = 0.0
        self._floor = 0.0
        self._last: tuple[float, bool | None] | None = None  # (t, away) of the previous frame
        self.road_since: float | None = None  # start of the current look at the road

    @property
    def on_road_s(self) -> float:
        """How long the driver has been watching the road without a break (0 when not)."""
        return 0.0 if self.road_since is None or self._last is None else self._last[0] - self.road_since

    def update(self, now: float, away: bool | None) -> float:
        """Feed one frame's judgement; returns the timer."""
        if self._last is not None:
            dt = max(0.0, now - self._last[0])
            if self._last[1] is True:
                self.value_s += dt
            elif self._last[1] is False:
                self.value_s = max(self._floor, self.value_s - self._refill * dt)
        if away is False:
            if self.road_since is None:
                self.road_since = now
                self._floor = max((x for x in self._thresholds if x <= self.value_s), default=0.0)
            if now - self.road_since >= self._reset_s:
                self.value_s = self._floor = 0.0
        else:
            self.road_since = None  # away, or unknown: a look at the road must be seen to count
        self._last = (now, away)
        return self.value_s


class VatsWindow:
    """Visual attention time-sharing: away time over a sliding window, latched at a threshold.

    Args:
        window_s: Length of the sliding window.
        limit_s: Away time within the window that raises the warning.
    """

    def __init__(self, window_s: float, limit_s: float) -> None:
        self._window_s = window_s
        self._limit_s = limit_s
        self._spans: deque[list[float]] = deque()  # [start, end] of away time, oldest first
        self._last: tuple[float, bool | None] | None = None
        self.active = False

    def total_s(self, now: float) -> float:
        """Away time within the window ending at ``now``."""
        horizon = now - self._window_s
        while self._spans and self._spans[0][1] <= horizon:
            self._spans.popleft()
        return sum(end - max(start, horizon) for start, end in self._spans)

    def update(self, now: float, away: bool | None) -> float:
        """Feed one frame's judgement; returns the away time within the window."""
        if self._last is not None and self._last[1] is True and now > self._last[0]:
            if self._spans and self._spans[-1][1] == self._last[0]:
                self._spans[-1][1] = now  # the same away stretch goes on
            else:
                self._spans.append([self._last[0], now])
        self._last = (now, away)
        total = self.total_s(now)
        if total >= self._limit_s:
            self.active = True
        return total

    def reset(self) -> None:
        """The driver has watched the road long enough: forget the window and drop the warning."""
        self._spans.clear()
        self.active = False


class ResponseTracker:
    """``sleep`` and ``unresponsive`` events, each once per episode.

    Args:
        cfg: The attention settings.
    """

    def __init__(self, cfg: AttentionConfig) -> None:
        self._cfg = cfg
        self._away_since: float | None = None
        self._warning_since: float | None = None  # onset of the current attention warning (or higher)
        self._alarm_since: float | None = None  # onset of the current attention alarm
        self.asleep = False
        self.unresponsive = False

    def update(
        self, now: float, frame: int, away: bool | None, eyes_closed_s: float, attention_level: str
    ) -> list[Event]:
        """Feed one frame.

        Args:
            now: Frame time.
            frame: Frame index.
            away: This frame's judgement (None: unknown, which neither answers nor extends anything).
            eyes_closed_s: Length of the current eye closure (0 when open).
            attention_level: What the distraction timer and VATS propose now (``ok`` … ``alarm``).

        Returns:
            The events raised.
        """
        self._track_onsets(now, away, rank(attention_level))
        events: list[Event] = []
        if eyes_closed_s <= 0:
            self.asleep = False
        elif eyes_closed_s > self._cfg.sleep_s and not self.asleep:
            self.asleep = True
            events.append(Event("sleep", now, frame, _span(now - eyes_closed_s, now)))
        cause, start = self._unresponsive_cause(now, eyes_closed_s)
        if cause is None:
            if eyes_closed_s <= 0 and away is False:
                self.unresponsive = False  # the driver answered: eyes open, watching the road
        elif not self.unresponsive:
            self.unresponsive = True
            events.append(Event("unresponsive", now, frame, {**_span(start, now), "cause": cause}))
        return events

    def _track_onsets(self, now: float, away: bool | None, level: int) -> None:
        """When the current look away, attention warning and attention alarm began."""
        if away is True:
            self._away_since = now if self._away_since is None else self._away_since
        elif away is False:
            self._away_since = None
        warning, alarm = level >= rank("warning"), level >= rank("alarm")
        self._warning_since = (
            (now if self._warning_since is None else self._warning_since) if warning else None
        )
        self._alarm_since = (now if self._alarm_since is None else self._alarm_since) if alarm else None

    def _unresponsive_cause(self, now: float, eyes_closed_s: float) -> tuple[str | None, float | None]:
        """Why the driver counts as unresponsive now, and since when; (None, None) if they do not."""
        c = self._cfg
        if eyes_closed_s >= c.unresponsive_closed_s:
            return f"eyes closed {eyes_closed_s:.1f} s", now - eyes_closed_s
        if self._away_since is None:
            return None, None
        # The driver has not looked back since the warning (or the alarm) was raised.
        w, a = self._warning_since, self._alarm_since
        if w is not None and self._away_since <= w and now - w >= c.response_s:
            return f"no look back {now - w:.1f} s after a distraction warning", self._away_since
        if a is not None and self._away_since <= a and now - a >= c.unresponsive_away_s:
            return f"away {now - a:.1f} s after a distraction alarm", self._away_since
        return None, None


def _span(start: float, now: float) -> dict:
    return {"start_t": round(start, 3), "duration_s": round(now - start, 3)}


@dataclass(frozen=True)
class AttentionState:
    """What the attention trackers know at one instant.

    Attributes:
        distracted_s: The distraction timer (away time not cleared by short looks back).
        cause: What made the driver away last (``face absent`` or ``looking away``).
        vats_s: Away time within the VATS window.
        vats_warning: The time-sharing warning is latched.
        on_road_s: How long the driver has been watching the road without a break.
        asleep: Eyes closed longer than ``sleep_s`` right now.
        unresponsive: The driver has not answered yet (see :class:`ResponseTracker`).
    """

    distracted_s: float = 0.0
    cause: str = "face absent"
    vats_s: float = 0.0
    vats_warning: bool = False
    on_road_s: float = 0.0
    asleep: bool = False
    unresponsive: bool = False


class AttentionTracker:
    """The distraction timer, VATS and the response rules over one per-frame ``away`` judgement.

    Args:
        cfg: The attention settings.
    """

    def __init__(self, cfg: AttentionConfig) -> None:
        self._cfg = cfg
        self._timer = DistractionTimer(
            cfg.glance_reset_s, cfg.glance_refill_rate, (cfg.notice_s, cfg.warning_s, cfg.alarm_s)
        )
        self._vats = VatsWindow(cfg.vats_window_s, cfg.vats_s)
        self.response = ResponseTracker(cfg)
        self._cause = "face absent"
        self.state = AttentionState()

    def level(self, distracted_s: float, vats_warning: bool) -> str:
        """The level the distraction timer and VATS propose (``ok`` … ``alarm``)."""
        c = self._cfg
        if distracted_s >= c.alarm_s:
            return "alarm"
        if distracted_s >= c.warning_s or vats_warning:
            return "warning"
        return "notice" if distracted_s >= c.notice_s else "ok"

    def update(
        self,
        now: float,
        frame: int,
        away: bool | None,
        eyes_closed_s: float = 0.0,
        cause: str = "face absent",
    ) -> tuple[AttentionState, list[Event]]:
        """Feed one frame.

        Args:
            now: Frame time in seconds.
            frame: Frame index.
            away: True away, False watching the road, None unknown.
            eyes_closed_s: Length of the current eye closure (0 when open).
            cause: Why the driver is away this frame (for the alert's reason).

        Returns:
            The state after this frame and the ``sleep``/``unresponsive`` events raised.
        """
        if away is True:
            self._cause = cause
        distracted = self._timer.update(now, away)
        vats = self._vats.update(now, away)
        if self._timer.on_road_s >= self._cfg.glance_reset_s:
            self._vats.reset()
            vats = 0.0
        level = self.level(distracted, self._vats.active)
        events = self.response.update(now, frame, away, eyes_closed_s, level)
        r = self.response
        self.state = AttentionState(
            distracted, self._cause, vats, self._vats.active, self._timer.on_road_s, r.asleep, r.unresponsive
        )
        return self.state, events


def judge_away(
    face_found: bool, picture_usable: bool, landmarks_usable: bool, head_away: bool | None
) -> tuple[bool | None, str]:
    """One frame's ``away`` judgement and its cause, from what the pipeline saw.

    Args:
        face_found: The detector found the driver's (frontal) face in this frame.
        picture_usable: The picture is neither blank nor dark.
        landmarks_usable: The found face's landmarks can be trusted (True without a landmark stage).
        head_away: The head is turned beyond the driver's straight-ahead limits
            (``edge_monitor.decisions``: head pose from the landmarks against the calibrated, or until
            then the default, straight-ahead); None when that is not known (no landmarks), which
            leaves the judgement to the face alone.

    Returns:
        (away, cause): away True/False, or None when it cannot be told (the picture is unusable, or the
        found face cannot be read: that is degraded monitoring, reported as a fault, not distraction).
    """
    if not picture_usable:
        return None, "camera cannot see"
    if not face_found:
        return True, "face absent"
    if not landmarks_usable:
        return None, "face unreadable"
    if head_away:
        return True, "looking away"
    return False, "watching the road"
