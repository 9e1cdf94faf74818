"""Config sections of the driver's state: fatigue, attention, calibration and the alert policy."""

from __future__ import annotations

from edge_monitor.config.fields import section, spec


@section
class FatigueConfig:
    """Drowsiness: eye closures, PERCLOS and yawns (all in seconds, never frames).

    Attributes:
        blink_max_s: closures up to this long are blinks
        microsleep_s: a closure this long is a microsleep
        long_closure_s: a closure this long raises the alarm while it lasts
        perclos_window_s: PERCLOS window: share of this time with eyes closed
        perclos_warning: PERCLOS at or above this raises a warning
        perclos_clear_ratio: a PERCLOS warning ends when PERCLOS falls below this share of perclos_warning
            (hysteresis: noise around the threshold cannot flap the event)
        perclos_min_coverage: share of the PERCLOS window with eyes seen before PERCLOS counts
        max_gap_s: observations further apart than this are a gap (no face, dropped frames): an eye closure or
            a yawn ends at its last observation, and PERCLOS does not count the gap
        yawn_prob: P(yawn) at or above which the yawn model says the mouth is wide open
        yawn_min_s: mouth wide open this long is a yawn (talking is shorter)
        reopen_s: an eye closure ends only after the eyes are seen open this long, so one or two noisy frames
            do not split it
        yawn_reopen_s: a yawn ends only after the mouth is seen less open this long (0: at the first such
            frame; the pauses between a talking driver's words must end a run)
        yawn_open_min: with face landmarks, a yawning mouth's inner-lip opening over its width is at least
            this (a laughing mouth stays under it; talking reaches it only for moments)
        yawn_open_margin: ... and at least this far above the driver's closed-mouth level
        yawn_max_width_ratio: a mouth wider than this times the driver's resting width is a laugh or a smile,
            not a yawn
        yawn_min_presence: landmark face score below which the mouth is taken as hidden (a hand over it): no
            yawn
        repeat_window_s: window for counting repeated microsleeps and yawns
        microsleeps_to_warn: microsleeps within repeat_window_s that raise a warning
        yawns_to_notice: yawns within repeat_window_s that raise a notice
    """

    blink_max_s: float = spec(0.5, lo=0.05, hi=2.0)
    microsleep_s: float = spec(1.0, lo=0.2, hi=10.0)
    long_closure_s: float = spec(2.0, lo=0.5, hi=20.0)
    perclos_window_s: float = spec(60.0, lo=5.0, hi=600.0)
    perclos_warning: float = spec(0.15, lo=0.01, hi=1.0)
    perclos_clear_ratio: float = spec(0.8, lo=0.1, hi=1.0)
    perclos_min_coverage: float = spec(0.5, lo=0.0, hi=1.0)
    max_gap_s: float = spec(0.5, lo=0.05, hi=10.0)
    yawn_prob: float = spec(0.5, lo=0.05, hi=0.95)
    yawn_min_s: float = spec(1.5, lo=0.3, hi=10.0)
    reopen_s: float = spec(0.3, lo=0.0, hi=2.0)
    yawn_reopen_s: float = spec(0.0, lo=0.0, hi=2.0)
    yawn_open_min: float = spec(0.25, lo=0.1, hi=3.0)
    yawn_open_margin: float = spec(0.15, lo=0.0, hi=3.0)
    yawn_max_width_ratio: float = spec(1.4, lo=1.0, hi=3.0)
    yawn_min_presence: float = spec(0.5, lo=0.0, hi=1.0)
    repeat_window_s: float = spec(300.0, lo=10.0, hi=3600.0)
    microsleeps_to_warn: int = spec(2, lo=1, hi=50)
    yawns_to_notice: int = spec(3, lo=1, hi=50)


@section
class AttentionConfig:
    """Distraction and response (Euro NCAP driver state): away = face absent or head turned beyond its limits.

    Attributes:
        notice_s: distraction timer (away time) this long: notice (LED pre-alert)
        warning_s: distraction timer this long: warning (audible)
        alarm_s: distraction timer this long: alarm
        glance_reset_s: watching the road this long without a break clears the distraction timer and VATS
        glance_refill_rate: a shorter look back takes this many seconds off the distraction timer per second
            (0 = pause)
        vats_window_s: visual attention time-sharing (VATS): sliding window of away time
        vats_s: away time within vats_window_s that raises a warning
        sleep_s: eyes closed longer than this: sleep event and alarm
        unresponsive_closed_s: eyes closed this long: unresponsive event
        response_s: still away this long after a distraction warning: unresponsive event
        unresponsive_away_s: still away this long after a distraction alarm: unresponsive event
        max_yaw_deg: head turned further than this left or right of the driver's straight-ahead is looking
            away: eye closure is not counted, the time counts as distraction
        max_pitch_deg: head tilted further than this up or down from the driver's straight-ahead is looking
            away
    """

    notice_s: float = spec(3.0, lo=0.5, hi=60.0)
    warning_s: float = spec(5.0, lo=0.5, hi=60.0)
    alarm_s: float = spec(11.0, lo=1.0, hi=120.0)
    glance_reset_s: float = spec(2.0, lo=0.1, hi=30.0)
    glance_refill_rate: float = spec(2.0, lo=0.0, hi=10.0)
    vats_window_s: float = spec(30.0, lo=5.0, hi=600.0)
    vats_s: float = spec(10.0, lo=1.0, hi=600.0)
    sleep_s: float = spec(3.0, lo=0.5, hi=60.0)
    unresponsive_closed_s: float = spec(6.0, lo=1.0, hi=120.0)
    response_s: float = spec(3.0, lo=0.5, hi=60.0)
    unresponsive_away_s: float = spec(6.0, lo=0.5, hi=120.0)
    max_yaw_deg: float = spec(30.0, lo=5.0, hi=90.0)
    max_pitch_deg: float = spec(20.0, lo=5.0, hi=90.0)


@section
class CalibrationConfig:
    """The driver's own open-eye, closed-mouth and straight-ahead levels, learnt from attentive frames.

    Attributes:
        learn_s: attentive face time needed before the driver's own levels replace the defaults
        window_s: the levels are medians over this much of the latest attentive time (a slow refresh)
        sample_interval_s: at most one frame per this many seconds is kept for the medians
        max_yaw_deg: frames with the head turned further than this from the camera are not learnt from
        max_pitch_deg: frames with the head tilted further than this from the camera are not learnt from
        open_eye_max_prob: frames whose eye-model P(closed) is above this are not learnt from
        min_presence: frames with a lower landmark face score are not learnt from
        max_frame_gap_s: attentive frames further apart than this are not continuous attentive time
        mouth_rest_percentile: the resting mouth opening is this percentile of the kept frames' openings (low:
            talking and smiling frames do not raise it)
        default_ear: open-eye aspect ratio assumed until calibrated (narrow-eyed: closures need a lower ratio)
        default_mouth_open: resting inner-lip opening over mouth width assumed until calibrated
        default_mouth_width: resting mouth width over outer-eye-corner distance assumed until calibrated
    """

    learn_s: float = spec(5.0, lo=0.5, hi=600.0)
    window_s: float = spec(300.0, lo=5.0, hi=7200.0)
    sample_interval_s: float = spec(0.2, lo=0.0, hi=5.0)
    max_yaw_deg: float = spec(35.0, lo=5.0, hi=90.0)
    max_pitch_deg: float = spec(30.0, lo=5.0, hi=90.0)
    open_eye_max_prob: float = spec(0.3, lo=0.0, hi=1.0)
    min_presence: float = spec(0.7, lo=0.0, hi=1.0)
    max_frame_gap_s: float = spec(0.5, lo=0.05, hi=10.0)
    mouth_rest_percentile: float = spec(25.0, lo=0.0, hi=100.0)
    default_ear: float = spec(0.30, lo=0.05, hi=1.0)
    default_mouth_open: float = spec(0.05, lo=0.0, hi=1.0)
    default_mouth_width: float = spec(0.58, lo=0.1, hi=3.0)


@section
class PolicyConfig:
    """Escalation and recovery of the alert level.

    Attributes:
        min_hold_s: a raised level is held at least this long
        recovery_s: the cause must be clear this long before the level drops
        cooldown_s: an alarm returning this soon after the last one ended continues its episode (it always
            sounds)
        negative_emotions: comma-separated emotions that may raise a notice; empty = never
        negative_emotion_s: a negative emotion reported this long raises a notice
        fault_after_s: a blank or dark picture (or no frame) this long is a camera fault
        blank_frame_std: a frame with less grey-level contrast (std) than this is blank
        dark_frame_mean: a frame with a lower mean grey level than this is dark (counts as blank)
        degraded_after_s: face found but its landmarks unreliable this long: fault (Euro NCAP: within 10 s)
    """

    min_hold_s: float = spec(2.0, lo=0.0, hi=60.0)
    recovery_s: float = spec(1.0, lo=0.0, hi=60.0)
    cooldown_s: float = spec(30.0, lo=0.0, hi=600.0)
    negative_emotions: str = spec("angry")
    negative_emotion_s: float = spec(10.0, lo=1.0, hi=600.0)
    fault_after_s: float = spec(2.0, lo=0.2, hi=60.0)
    blank_frame_std: float = spec(4.0, lo=0.0, hi=50.0)
    dark_frame_mean: float = spec(15.0, lo=0.0, hi=128.0)
    degraded_after_s: float = spec(5.0, lo=0.5, hi=10.0)
