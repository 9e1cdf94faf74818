"""Typed, frozen, strict configuration loaded from YAML.

Every field has a default, bounds and a one-line description (``spec``). ``load_config`` merges
a user file over the packaged defaults; unknown keys, wrong types and out-of-range values are
:class:`ConfigError` naming the dotted key path, the value, the reason and the YAML line.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from edge_monitor.errors import (
    ConfigError,
    ConfigKeyError,
    ConfigRangeError,
    ConfigTypeError,
    show_value,
)
from edge_monitor.yamlsafe import load_yaml, read_config_text


def spec(default: Any, doc: str, *, lo: float | None = None, hi: float | None = None, choices=None) -> Any:
    """A config field: its default, description and allowed range or choices."""
    return field(default=default, metadata={"doc": doc, "lo": lo, "hi": hi, "choices": choices})


@dataclass(frozen=True)
class SourceConfig:
    """The live camera (--camera/--picamera/--video on the command line take precedence)."""

    kind: str = spec("picamera", "camera used without a source option", choices=("picamera", "opencv"))
    camera_index: int = spec(0, "OpenCV camera index for kind opencv", lo=0, hi=63)
    width: int = spec(640, "capture width in pixels", lo=160, hi=4096)
    height: int = spec(480, "capture height in pixels", lo=120, hi=4096)
    fps: float = spec(30.0, "requested camera frame rate", lo=1, hi=120)
    read_timeout_s: float = spec(2.0, "a camera read blocking longer than this is a fault", lo=0.1, hi=60.0)
    retry_initial_s: float = spec(
        0.5, "first wait before reopening a faulted camera (doubles)", lo=0.05, hi=60.0
    )
    retry_max_s: float = spec(8.0, "longest wait between reopening attempts", lo=0.1, hi=600.0)
    give_up_s: float = spec(
        30.0, "no frame for this long: exit non-zero (systemd restarts)", lo=1.0, hi=3600.0
    )


@dataclass(frozen=True)
class ModelsConfig:
    """Model files; an empty path means the model shipped with the package."""

    emotion: str = spec("", "emotion .tflite (metadata: the .json beside it); empty = shipped model")
    eye_state: str = spec("", "eye open/closed .tflite; empty = shipped model")
    yawn: str = spec("", "yawn .tflite; empty = shipped model")
    threads: int = spec(1, "TFLite interpreter threads", lo=1, hi=8)


@dataclass(frozen=True)
class DetectorConfig:
    """Face detection (Haar cascade or BlazeFace), searching near the last face."""

    kind: str = spec(
        "blazeface",
        "face detector: haar (OpenCV cascade, grey) or blazeface (MediaPipe's TFLite model, any pose)",
        choices=("haar", "blazeface"),
    )
    model: str = spec("", "blazeface: .tflite; empty = the fetched face_detection_short_range.tflite")
    min_score: float = spec(0.65, "blazeface: lowest face score kept", lo=0.05, hi=0.99)
    nms_iou: float = spec(
        0.3, "blazeface: detections overlapping more than this are merged", lo=0.05, hi=0.95
    )
    cascade: str = spec(
        "haarcascade_frontalface_default.xml", "haar: cascade file, a name in cv2.data.haarcascades or a path"
    )
    detect_width_px: int = spec(
        240, "haar: frames are downscaled to this width for detection", lo=80, hi=1920
    )
    scale_factor: float = spec(1.1, "haar: pyramid scale step", lo=1.01, hi=2.0)
    min_neighbors: int = spec(3, "haar: detections needed to accept a face", lo=1, hi=20)
    min_face_frac: float = spec(0.12, "smallest face, as a fraction of the frame height", lo=0.02, hi=1.0)
    roi_margin: float = spec(0.5, "search region = last face grown by this fraction per side", lo=0.1, hi=3.0)
    roi_size_ratio: float = spec(
        1.5,
        "in the search region, faces from the last width / this to the last width x this",
        lo=1.05,
        hi=4.0,
    )
    full_scan_interval_s: float = spec(
        1.0, "scan the whole frame at least this often while tracking (finds a larger face)", lo=0.0, hi=60.0
    )
    turned_cascade: str = spec(
        "haarcascade_profileface.xml",
        "haar: cascade for a face turned from the camera, tried (both sides) only when no frontal face is"
        " found; it feeds yawn detection only, and a turned face still counts as absent; '' = off",
    )


@dataclass(frozen=True)
class LandmarksConfig:
    """Face landmarks (468 points) on the driver's face: eye/mouth geometry, head pose, crops."""

    enabled: bool = spec(True, "run the landmark model on the driver's face every frame")
    model: str = spec("", "face-landmark .tflite; empty = the fetched face_landmark.tflite")
    min_presence: float = spec(
        0.5, "landmarks with a lower face score are rejected (no geometry this frame)", lo=0.0, hi=1.0
    )
    margin: float = spec(0.25, "crop margin per side, as a fraction of the face box", lo=0.0, hi=1.0)


@dataclass(frozen=True)
class FaceConfig:
    """Debouncing of face presence, so one missed detection is not a lost face."""

    lost_after_s: float = spec(0.3, "no face for this long reports face_lost", lo=0.0, hi=10.0)
    found_after_s: float = spec(0.1, "a face for this long reports face_found", lo=0.0, hi=10.0)
    hold_box_s: float = spec(0.25, "reuse the last box for a frame with a missed detection", lo=0.0, hi=2.0)


@dataclass(frozen=True)
class EmotionConfig:
    """The sliding emotion window and its hysteresis."""

    window_s: float = spec(2.0, "sliding window length in seconds", lo=0.2, hi=60.0)
    min_face_s: float = spec(0.5, "face time in the window needed to report an emotion", lo=0.0, hi=60.0)
    switch_margin: float = spec(
        0.08, "a new emotion must beat the current one by this mean probability", lo=0.0, hi=1.0
    )
    min_hold_s: float = spec(1.0, "the reported emotion is held at least this long", lo=0.0, hi=60.0)
    flip_tta: bool = spec(False, "average each face with its mirror image (2x inference cost)")


@dataclass(frozen=True)
class EyesConfig:
    """Eye state from eye crops inside the driver's face box."""

    locate: str = spec("geometric", "how eye crops are found in the face", choices=("geometric", "haar"))
    closed_threshold: float = spec(
        0.5, "P(closed) at or above which the eyes count as closed", lo=0.05, hi=0.95
    )
    flip_average: bool = spec(
        False, "average each eye crop with its mirror image (2x eye-model cost, 0.06 ms per crop)"
    )
    ear_closed_ratio: float = spec(
        0.8,
        "with face landmarks, the eyes count as closed only when the eye model says so and the eye"
        " aspect ratio is below this share of the driver's open-eye level",
        lo=0.1,
        hi=1.0,
    )
    hidden_dark_ratio: float = spec(
        0.38,
        "an eye region darker than this share of the cheeks' brightness, with little contrast, is"
        " hidden (dark sunglasses): eye state unknown",
        lo=0.05,
        hi=1.0,
    )
    hidden_max_std: float = spec(
        26.0, "grey-level standard deviation an eye region hidden by sunglasses stays under", lo=1.0, hi=80.0
    )
    hidden_after_s: float = spec(
        0.5, "eyes seen hidden (or visible again) this long switches the eye state", lo=0.0, hi=10.0
    )


@dataclass(frozen=True)
class FatigueConfig:
    """Drowsiness: eye closures, PERCLOS and yawns (all in seconds, never frames)."""

    blink_max_s: float = spec(0.5, "closures up to this long are blinks", lo=0.05, hi=2.0)
    microsleep_s: float = spec(1.0, "a closure this long is a microsleep", lo=0.2, hi=10.0)
    long_closure_s: float = spec(2.0, "a closure this long raises the alarm while it lasts", lo=0.5, hi=20.0)
    perclos_window_s: float = spec(
        60.0, "PERCLOS window: share of this time with eyes closed", lo=5.0, hi=600.0
    )
    perclos_warning: float = spec(0.15, "PERCLOS at or above this raises a warning", lo=0.01, hi=1.0)
    perclos_min_coverage: float = spec(
        0.5, "share of the PERCLOS window with eyes seen before PERCLOS counts", lo=0.0, hi=1.0
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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class GpioConfig:
    """Buzzer and LED on the Pi's GPIO header (BCM pin numbers)."""

    mode: str = spec(
        "auto", "auto: real pins if present; on; off; mock", choices=("auto", "on", "off", "mock")
    )
    buzzer_pin: int = spec(17, "BCM pin of the buzzer", lo=0, hi=27)
    led_pin: int = spec(27, "BCM pin of the LED", lo=0, hi=27)
    buzzer_active_high: bool = spec(True, "the buzzer sounds when its pin is high")


@dataclass(frozen=True)
class EventsConfig:
    """The JSON Lines event log."""

    path: str = spec("", "event log file (appended); empty = none unless --events is given")
    max_bytes: int = spec(
        10_000_000, "rotate the event log past this size in bytes", lo=10_000, hi=10_000_000_000
    )
    keep: int = spec(5, "rotated event logs kept (events.jsonl.1 is the newest)", lo=0, hi=100)


@dataclass(frozen=True)
class SnapshotsConfig:
    """Pictures of alert moments: off by default, nothing of the driver is stored (privacy)."""

    enabled: bool = spec(False, "save the frame of each alert at or above min_level")
    dir: str = spec("", "snapshot folder; empty = 'snapshots' beside the event log")
    min_level: str = spec(
        "alarm", "lowest alert level saved", choices=("notice", "warning", "alarm", "fault")
    )
    keep: int = spec(50, "snapshots kept; the oldest are deleted", lo=1, hi=100_000)


@dataclass(frozen=True)
class FleetConfig:
    """Fleet telemetry: events, status and state to an MQTT broker, through a durable outbox."""

    url: str = spec("", "broker: mqtt://host:port or mqtts://host:port (TLS); empty = off; --mqtt sets it")
    vehicle_id: str = spec("", "this vehicle's name in the topics; empty = the hostname")
    topic_prefix: str = spec("edge-monitor", "topics are <topic_prefix>/<vehicle_id>/events|status|state")
    outbox: str = spec(
        "",
        "durable queue (SQLite) of unsent events; empty = fleet-outbox.sqlite beside the event log"
        " (in $STATE_DIRECTORY under systemd)",
    )
    max_outbox_mb: float = spec(
        50.0,
        "outbox bound in MB of events; past it the oldest non-alert events go first",
        lo=0.001,
        hi=100_000,
    )
    state_interval_s: float = spec(10.0, "publish the retained state this often", lo=0.2, hi=3600.0)
    username: str = spec("", "broker user name; empty = anonymous")
    password_file: str = spec("", "file holding the broker password (first line); empty = none")
    ca_file: str = spec("", "CA certificate(s) for mqtts://; empty = the system's CAs")
    client_cert: str = spec("", "client certificate for mqtts:// (with client_key); empty = none")
    client_key: str = spec("", "private key of client_cert; empty = none")
    keepalive_s: int = spec(
        30, "MQTT keepalive; also the longest wait for CONNACK and between reconnects", lo=1, hi=3600
    )


@dataclass(frozen=True)
class Config:
    """The whole configuration."""

    source: SourceConfig = field(default_factory=SourceConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    landmarks: LandmarksConfig = field(default_factory=LandmarksConfig)
    face: FaceConfig = field(default_factory=FaceConfig)
    emotion: EmotionConfig = field(default_factory=EmotionConfig)
    eyes: EyesConfig = field(default_factory=EyesConfig)
    fatigue: FatigueConfig = field(default_factory=FatigueConfig)
    attention: AttentionConfig = field(default_factory=AttentionConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    gpio: GpioConfig = field(default_factory=GpioConfig)
    events: EventsConfig = field(default_factory=EventsConfig)
    snapshots: SnapshotsConfig = field(default_factory=SnapshotsConfig)
    fleet: FleetConfig = field(default_factory=FleetConfig)


def _is_section(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _type_name(tp: Any) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(tp, str(tp))


def _line(node: yaml.Node | None) -> str:
    return f" (line {node.start_mark.line + 1})" if node is not None else ""


def _coerce(value: Any, tp: Any, path: str, node: yaml.Node | None, meta: dict) -> Any:
    where = _line(node)
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            value = float(value)
            if not math.isfinite(value):
                raise ConfigRangeError(f"{path}: {show_value(value)} is not a finite number{where}")
    elif tp is str:
        ok = isinstance(value, str)
    else:  # pragma: no cover - only the types above are used
        raise TypeError(tp)
    if not ok:
        raise ConfigTypeError(
            f"{path}: {show_value(value)} is {type(value).__name__}, expected {_type_name(tp)}{where}"
        )
    lo, hi, choices = meta.get("lo"), meta.get("hi"), meta.get("choices")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigRangeError(
            f"{path}: {show_value(value)} is out of range, must be between {lo} and {hi}{where}"
        )
    if choices is not None and value not in choices:
        raise ConfigRangeError(
            f"{path}: {show_value(value)} is not one of {', '.join(map(str, choices))}{where}"
        )
    return value


def _build(cls: type, data: Any, node: yaml.Node | None, prefix: str, base: Any) -> Any:
    if data is None:
        return base
    if not isinstance(data, dict):
        what = prefix or "the config file"
        raise ConfigTypeError(f"{what}: expected a mapping of keys, got {type(data).__name__}{_line(node)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    key_nodes = {}
    if isinstance(node, yaml.MappingNode):
        key_nodes = {k.value: (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}
    changes = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        knode, vnode = key_nodes.get(key, (node, None))
        if key not in fields:
            known = ", ".join(fields)
            raise ConfigKeyError(f"{path}: unknown key{_line(knode)}; known keys here: {known}")
        tp = hints[key]
        if _is_section(tp):
            changes[key] = _build(tp, value, vnode, path, getattr(base, key))
        else:
            changes[key] = _coerce(value, tp, path, vnode or knode, dict(fields[key].metadata))
    return dataclasses.replace(base, **changes)


def _validate_defaults(obj: Any, prefix: str = "") -> None:
    # The packaged defaults go through the same checks as a user's file.
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        path = f"{prefix}.{f.name}" if prefix else f.name
        if dataclasses.is_dataclass(value):
            _validate_defaults(value, path)
        else:
            _coerce(value, typing.get_type_hints(type(obj))[f.name], path, None, dict(f.metadata))


def _check_relations(cfg: Config) -> None:
    # Settings that are only meaningful relative to each other.
    if cfg.gpio.buzzer_pin == cfg.gpio.led_pin:
        raise ConfigRangeError(
            f"gpio.led_pin: {cfg.gpio.led_pin} is also gpio.buzzer_pin; use two different pins"
        )
    a = cfg.attention
    if not a.notice_s < a.warning_s < a.alarm_s:
        raise ConfigRangeError(
            f"attention: notice_s < warning_s < alarm_s is required, got {a.notice_s}, {a.warning_s}, {a.alarm_s}"
        )
    if not a.sleep_s < a.unresponsive_closed_s:
        raise ConfigRangeError(
            f"attention: sleep_s < unresponsive_closed_s is required, got {a.sleep_s}, {a.unresponsive_closed_s}"
        )
    if not a.vats_s <= a.vats_window_s:
        raise ConfigRangeError(
            f"attention: vats_s <= vats_window_s is required, got {a.vats_s}, {a.vats_window_s}"
        )
    check_fleet(cfg.fleet)
    f = cfg.fatigue
    if not f.blink_max_s < f.microsleep_s <= f.long_closure_s:
        raise ConfigRangeError(
            "fatigue: blink_max_s < microsleep_s <= long_closure_s is required,"
            f" got {f.blink_max_s}, {f.microsleep_s}, {f.long_closure_s}"
        )


def check_fleet(fleet: FleetConfig) -> None:
    """The fleet settings that depend on each other: URL syntax, topic names, certificate pairs."""
    from edge_monitor.fleet.url import check_topic_part, parse_broker_url

    if fleet.url:
        parse_broker_url(fleet.url, "fleet.url")
    check_topic_part(fleet.topic_prefix, "fleet.topic_prefix", allow_slash=True)
    if fleet.vehicle_id:
        check_topic_part(fleet.vehicle_id, "fleet.vehicle_id", allow_slash=False)
    if bool(fleet.client_cert) != bool(fleet.client_key):
        raise ConfigRangeError("fleet: client_cert and client_key go together; set both or neither")


def parse_config(text: str, source: str = "<config>", base: Config | None = None) -> Config:
    """Parse YAML text over ``base`` (default: the built-in defaults), within the limits of ``yamlsafe``."""
    try:
        data, node = load_yaml(text)
        cfg = _build(Config, data, node, "", base or Config())
        _check_relations(cfg)
        return cfg
    except ConfigError as exc:
        raise type(exc)(f"{source}: {exc}") from None


def default_config_text() -> str:
    """The packaged ``default.yaml``."""
    return resources.files("edge_monitor").joinpath("default.yaml").read_text(encoding="utf-8")


def load_config(path: str | Path | None = None) -> Config:
    """The packaged defaults, overridden by the YAML file at ``path`` if given.

    Raises:
        ConfigError: The file is missing or unreadable, or holds an invalid setting.
    """
    base = Config()
    _validate_defaults(base)
    base = parse_config(default_config_text(), "default.yaml", base)
    if path is None:
        return base
    p = Path(path)
    return parse_config(read_config_text(p), str(p), base)


def to_dict(cfg: Any) -> dict:
    """The config as plain nested dicts."""
    return dataclasses.asdict(cfg)


def dump_yaml(cfg: Config) -> str:
    """The effective config as YAML, each key with its description as a comment."""
    lines: list[str] = []

    def walk(obj: Any, indent: int) -> None:
        pad = "  " * indent
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                doc = (type(value).__doc__ or "").strip().splitlines()[0]
                lines.append(f"{pad}{f.name}:  # {doc}")
                walk(value, indent + 1)
            else:
                scalar = yaml.safe_dump(value, default_flow_style=True).strip()
                scalar = scalar.removesuffix("\n...").removesuffix("...").strip()
                lines.append(f"{pad}{f.name}: {scalar}  # {f.metadata['doc']}")

    walk(cfg, 0)
    return "\n".join(lines) + "\n"


__all__ = [
    "AttentionConfig",
    "CalibrationConfig",
    "Config",
    "DetectorConfig",
    "EmotionConfig",
    "EventsConfig",
    "EyesConfig",
    "FaceConfig",
    "FatigueConfig",
    "FleetConfig",
    "GpioConfig",
    "LandmarksConfig",
    "ModelsConfig",
    "PolicyConfig",
    "SnapshotsConfig",
    "SourceConfig",
    "dump_yaml",
    "load_config",
    "parse_config",
    "to_dict",
]
