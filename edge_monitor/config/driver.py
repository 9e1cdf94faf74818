"""Config sections of the driver's state: fatigue, attention, calibration and the alert policy."""

from __future__ import annotations

from edge_monitor.config.fields import section, spec


@section
class FatigueConfig:
    """Drowsiness: eye closures, PERCLOS and yawns (all in seconds, never frames)."""

    blink_max_s: float = spec(0.5, "closures up to this long are blinks", lo=0.05, hi=2.0)
    microsleep_s: float = spec(1.0, "a closure this long is a microsleep", lo=0.2, hi=10.0)
    long_closure_s: float = spec(2.0, "a closure this long raises the alarm while it lasts", lo=0.5, hi=20.0)
    perclos_window_s: float = spec(
        60.0, "PERCLOS window: share of this time with eyes closed", lo=5.0, hi=600.0
    )
    perclos_warning: float = spec(0.15, "PERCLOS at or above this raises a warning", lo=0.01, hi=1.0)
    perclos_clear_ratio: float = spec(
        0.8,
        "a PERCLOS warning ends when PERCLOS falls below this share of perclos_warning (hysteresis:"
        " noise around the threshold cannot flap the event)",
        lo=0.1,
        hi=1.0,
    )
    perclos_min_coverage: float = spec(
        0.5, "share of the PERCLOS window with eyes seen before PERCLOS counts", lo=0.0, hi=1.0
    )
    max_gap_s: float = spec(
        0.5,
        "observations further apart than this are a gap (no face, dropped frames): an eye closure or"
        " a yawn ends at its last observation, and PERCLOS does not count the gap",
        lo=0.05,
        hi=10.0,
    )
    yawn_prob: float = spec(
        0.5, "P(yawn) at or above which the yawn model says the mouth is wide open", lo=0.05, hi=0.95
    )
    yawn_min_s: float = spec(1.5, "mouth wide open this long is a yawn (talking is shorter)", lo=0.3, hi=10.0)
    reopen_s: float = spec(
        0.3,
        "an eye closure ends only after the eyes are seen open this long, so one or two noisy"
        " frames do not split it",
        lo=0.0,
        hi=2.0,
    )
    yawn_reopen_s: float = spec(
        0.0,
        "a yawn ends only after the mouth is seen less open this long (0: at the first such frame;"
        " the pauses between a talking driver's words must end a run)",
        lo=0.0,
        hi=2.0,
    )
    yawn_open_min: float = spec(
        0.25,
        "with face landmarks, a yawning mouth's inner-lip opening over its width is at least this"
        " (a laughing mouth stays under it; talking reaches it only for moments)",
        lo=0.1,
        hi=3.0,
    )
    yawn_open_margin: float = spec(
        0.15, "... and at least this far above the driver's closed-mouth level", lo=0.0, hi=3.0
    )
    yawn_max_width_ratio: float = spec(
        1.4,
        "a mouth wider than this times the driver's resting width is a laugh or a smile, not a yawn",
        lo=1.0,
        hi=3.0,
    )
    yawn_min_presence: float = spec(
        0.5,
        "landmark face score below which the mouth is taken as hidden (a hand over it): no yawn",
        lo=0.0,
        hi=1.0,
    )
    repeat_window_s: float = spec(
        300.0, "window for counting repeated microsleeps and yawns", lo=10.0, hi=3600.0
    )
    microsleeps_to_warn: int = spec(2, "microsleeps within repeat_window_s that raise a warning", lo=1, hi=50)
    yawns_to_notice: int = spec(3, "yawns within repeat_window_s that raise a notice", lo=1, hi=50)


@section
class AttentionConfig:
    """Distraction and response (Euro NCAP driver state): away = face absent or head turned beyond its limits."""

    notice_s: float = spec(
        3.0, "distraction timer (away time) this long: notice (LED pre-alert)", lo=0.5, hi=60.0
    )
    warning_s: float = spec(5.0, "distraction timer this long: warning (audible)", lo=0.5, hi=60.0)
    alarm_s: float = spec(11.0, "distraction timer this long: alarm", lo=1.0, hi=120.0)
    glance_reset_s: float = spec(
        2.0,
        "watching the road this long without a break clears the distraction timer and VATS",
        lo=0.1,
        hi=30.0,
    )
    glance_refill_rate: float = spec(
        2.0,
        "a shorter look back takes this many seconds off the distraction timer per second (0 = pause)",
        lo=0.0,
        hi=10.0,
    )
    vats_window_s: float = spec(
        30.0, "visual attention time-sharing (VATS): sliding window of away time", lo=5.0, hi=600.0
    )
    vats_s: float = spec(10.0, "away time within vats_window_s that raises a warning", lo=1.0, hi=600.0)
    sleep_s: float = spec(3.0, "eyes closed longer than this: sleep event and alarm", lo=0.5, hi=60.0)
    unresponsive_closed_s: float = spec(6.0, "eyes closed this long: unresponsive event", lo=1.0, hi=120.0)
    response_s: float = spec(
        3.0, "still away this long after a distraction warning: unresponsive event", lo=0.5, hi=60.0
    )
    unresponsive_away_s: float = spec(
        6.0, "still away this long after a distraction alarm: unresponsive event", lo=0.5, hi=120.0
    )
    max_yaw_deg: float = spec(
        30.0,
        "head turned further than this left or right of the driver's straight-ahead is looking away:"
        " eye closure is not counted, the time counts as distraction",
        lo=5.0,
        hi=90.0,
    )
    max_pitch_deg: float = spec(
        20.0,
        "head tilted further than this up or down from the driver's straight-ahead is looking away",
        lo=5.0,
        hi=90.0,
    )


@section
class CalibrationConfig:
    """The driver's own open-eye, closed-mouth and straight-ahead levels, learnt from attentive frames."""

    learn_s: float = spec(
        5.0,
        "attentive face time needed before the driver's own levels replace the defaults",
        lo=0.5,
        hi=600.0,
    )
    window_s: float = spec(
        300.0,
        "the levels are medians over this much of the latest attentive time (a slow refresh)",
        lo=5.0,
        hi=7200.0,
    )
    sample_interval_s: float = spec(
        0.2, "at most one frame per this many seconds is kept for the medians", lo=0.0, hi=5.0
    )
    max_yaw_deg: float = spec(
        35.0,
        "frames with the head turned further than this from the camera are not learnt from",
        lo=5.0,
        hi=90.0,
    )
    max_pitch_deg: float = spec(
        30.0,
        "frames with the head tilted further than this from the camera are not learnt from",
        lo=5.0,
        hi=90.0,
    )
    open_eye_max_prob: float = spec(
        0.3, "frames whose eye-model P(closed) is above this are not learnt from", lo=0.0, hi=1.0
    )
    min_presence: float = spec(
        0.7, "frames with a lower landmark face score are not learnt from", lo=0.0, hi=1.0
    )
    max_frame_gap_s: float = spec(
        0.5, "attentive frames further apart than this are not continuous attentive time", lo=0.05, hi=10.0
    )
    mouth_rest_percentile: float = spec(
        25.0,
        "the resting mouth opening is this percentile of the kept frames' openings (low: talking and"
        " smiling frames do not raise it)",
        lo=0.0,
        hi=100.0,
    )
    default_ear: float = spec(
        0.30,
        "open-eye aspect ratio assumed until calibrated (narrow-eyed: closures need a lower ratio)",
        lo=0.05,
        hi=1.0,
    )
    default_mouth_open: float = spec(
        0.05, "resting inner-lip opening over mouth width assumed until calibrated", lo=0.0, hi=1.0
    )
    default_mouth_width: float = spec(
        0.58, "resting mouth width over outer-eye-corner distance assumed until calibrated", lo=0.1, hi=3.0
    )


@section
class PolicyConfig:
    """Escalation and recovery of the alert level."""

    min_hold_s: float = spec(2.0, "a raised level is held at least this long", lo=0.0, hi=60.0)
    recovery_s: float = spec(1.0, "the cause must be clear this long before the level drops", lo=0.0, hi=60.0)
    cooldown_s: float = spec(
        30.0,
        "an alarm returning this soon after the last one ended continues its episode (it always sounds)",
        lo=0.0,
        hi=600.0,
    )
    negative_emotions: str = spec("angry", "comma-separated emotions that may raise a notice; empty = never")
    negative_emotion_s: float = spec(
        10.0, "a negative emotion reported this long raises a notice", lo=1.0, hi=600.0
    )
    fault_after_s: float = spec(
        2.0, "a blank or dark picture (or no frame) this long is a camera fault", lo=0.2, hi=60.0
    )
    blank_frame_std: float = spec(
        4.0, "a frame with less grey-level contrast (std) than this is blank", lo=0.0, hi=50.0
    )
    dark_frame_mean: float = spec(
        15.0, "a frame with a lower mean grey level than this is dark (counts as blank)", lo=0.0, hi=128.0
    )
    degraded_after_s: float = spec(
        5.0,
        "face found but its landmarks unreliable this long: fault (Euro NCAP: within 10 s)",
        lo=0.5,
        hi=10.0,
    )
