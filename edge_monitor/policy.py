"""The alert policy: from the driver's state to one alert level, with hysteresis.

Levels (:mod:`edge_monitor.levels`), lowest to highest: ``ok`` → ``notice`` → ``warning`` →
``alarm``; ``fault`` (the camera cannot see: blank picture, no frames) is separate from the
driver's state and overrides it.

Each rule proposes a level and a reason; the highest proposal is the target.

* Escalation is immediate: the rules themselves wait (3 s of absence, 2 s of closure, ...).
* Recovery needs the target to stay lower for ``recovery_s`` (1 s) and the level to have been held
  ``min_hold_s``; both are short next to the escalation times, so recovery is faster than decay
  (as in openpilot's driver monitoring) while one noisy frame cannot flap the buzzer.
* One episode, one alarm: an alarm that returns within ``cooldown_s`` of the last one ending
  continues that episode (same ``episode`` number, counted once) — it is never suppressed.

Distraction is eyes off the road: the face missing, or the head turned beyond the limits from the
driver's straight-ahead (``DriverState.away_cause`` names it in the reason).

Defaults follow EU ADDW, Euro NCAP and openpilot: distraction pre-alert (LED) at 3 s, audible at
5 s, alarm at 11 s of the distraction timer (``edge_monitor.attention``: short looks back do not
clear it); visual time-sharing (10 s away within 30 s) → warning; eyes closed 2 s → alarm, asleep
(> 3 s) keeps it; PERCLOS ≥ 0.15 → warning; repeated microsleeps → warning; repeated yawns →
notice; a sustained negative emotion → at most a notice; a blank or dark picture (2 s) or a found
face whose landmarks are unreliable (5 s) → fault.
"""

from __future__ import annotations

from edge_monitor.config import AttentionConfig, FatigueConfig, PolicyConfig
from edge_monitor.levels import FAULT, rank
from edge_monitor.types import DriverState, Event


class AlertPolicy:
    """Turns :class:`DriverState` snapshots into level changes (``alert`` events).

    Args:
        fatigue: Drowsiness thresholds.
        attention: Distraction thresholds (the timers themselves are in ``edge_monitor.attention``).
        cfg: Hysteresis, hold, cooldown and fault settings.
    """

    def __init__(self, fatigue: FatigueConfig, attention: AttentionConfig, cfg: PolicyConfig) -> None:
        self._fatigue = fatigue
        self._attention = attention
        self._cfg = cfg
        self.level = "ok"
        self.reason = ""
        self._entered_t: float | None = None
        self._lower_since: float | None = None
        self._alarm_ended_t: float | None = None
        self.episode = 0

    def proposals(self, s: DriverState) -> list[tuple[str, str]]:
        """Every rule's (level, reason) for this state; empty when all is well."""
        f, a, p = self._fatigue, self._attention, self._cfg
        out: list[tuple[str, str]] = []
        if s.camera_fault is not None:
            out.append((FAULT, f"camera fault: {s.camera_fault}"))
        if s.blank_s >= p.fault_after_s:
            out.append((FAULT, f"camera picture {s.picture} for {s.blank_s:.1f} s"))
        if s.degraded is not None and s.degraded_s >= p.degraded_after_s:
            out.append((FAULT, f"monitoring degraded for {s.degraded_s:.1f} s: {s.degraded}"))
        if s.asleep:
            out.append(("alarm", f"asleep: eyes closed {s.eyes_closed_s:.1f} s"))
        if s.eyes_closed_s >= f.long_closure_s:
            out.append(("alarm", f"eyes closed {s.eyes_closed_s:.1f} s"))
        distracted = f"{s.away_cause}: distracted {s.distracted_s:.1f} s"
        if s.distracted_s >= a.alarm_s:
            out.append(("alarm", distracted))
        elif s.distracted_s >= a.warning_s:
            out.append(("warning", distracted))
        elif s.distracted_s >= a.notice_s:
            out.append(("notice", distracted))
        if s.vats_warning:
            out.append(
                ("warning", f"visual time-sharing: away {s.vats_s:.1f} s of the last {a.vats_window_s:.0f} s")
            )
        if s.perclos is not None and s.perclos >= f.perclos_warning:
            out.append(("warning", f"PERCLOS {s.perclos:.2f}"))
        if s.recent_microsleeps >= f.microsleeps_to_warn:
            out.append(("warning", f"{s.recent_microsleeps} microsleeps in {f.repeat_window_s:.0f} s"))
        elif s.recent_microsleeps > 0:
            out.append(("notice", f"microsleep in the last {f.repeat_window_s:.0f} s"))
        if s.recent_yawns >= f.yawns_to_notice:
            out.append(("notice", f"{s.recent_yawns} yawns in {f.repeat_window_s:.0f} s"))
        if s.negative_emotion is not None and s.negative_emotion_s >= p.negative_emotion_s:
            out.append(("notice", f"{s.negative_emotion} for {s.negative_emotion_s:.0f} s"))
        return out

    def evaluate(self, now: float, frame: int, state: DriverState) -> Event | None:
        """Update the level for this instant; returns an ``alert`` event when it changes."""
        proposals = self.proposals(state)
        target, reason = max(proposals, key=lambda lr: rank(lr[0])) if proposals else ("ok", "")
        if self._entered_t is None:
            self._entered_t = now
        if target == self.level:
            self._lower_since = None
            self.reason = reason or self.reason
            return None
        if target == FAULT or (self.level != FAULT and rank(target) > rank(self.level)):
            return self._switch(now, frame, target, reason)
        # Lower target (or leaving a fault): wait for recovery_s and the minimum hold.
        if self._lower_since is None:
            self._lower_since = now
        held = now - self._entered_t >= self._cfg.min_hold_s
        if now - self._lower_since >= self._cfg.recovery_s and held:
            return self._switch(now, frame, target, reason or "recovered")
        return None

    def _switch(self, now: float, frame: int, level: str, reason: str) -> Event:
        previous = self.level
        if previous == "alarm":
            self._alarm_ended_t = now
        if level == "alarm":
            new_episode = self._alarm_ended_t is None or now - self._alarm_ended_t > self._cfg.cooldown_s
            self.episode += int(new_episode)
        self.level, self.reason = level, reason
        self._entered_t, self._lower_since = now, None
        data = {"level": level, "previous": previous, "reason": reason}
        if level == "alarm":
            data["episode"] = self.episode
        return Event("alert", now, frame, data)
