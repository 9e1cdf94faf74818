"""Config sections of the perception chain: camera, models, face detection, landmarks, emotion, eyes."""

from __future__ import annotations

from edge_monitor.config.fields import section, spec


@section
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


@section
class ModelsConfig:
    """Model files; an empty path means the model shipped with the package."""

    emotion: str = spec("", "emotion .tflite (metadata: the .json beside it); empty = shipped model")
    eye_state: str = spec("", "eye open/closed .tflite; empty = shipped model")
    yawn: str = spec("", "yawn .tflite; empty = shipped model")
    threads: int = spec(1, "TFLite interpreter threads", lo=1, hi=8)


@section
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


@section
class LandmarksConfig:
    """Face landmarks (468 points) on the driver's face: eye/mouth geometry, head pose, crops."""

    enabled: bool = spec(True, "run the landmark model on the driver's face every frame")
    model: str = spec("", "face-landmark .tflite; empty = the fetched face_landmark.tflite")
    min_presence: float = spec(
        0.5, "landmarks with a lower face score are rejected (no geometry this frame)", lo=0.0, hi=1.0
    )
    margin: float = spec(0.25, "crop margin per side, as a fraction of the face box", lo=0.0, hi=1.0)


@section
class FaceConfig:
    """Debouncing of face presence, so one missed detection is not a lost face."""

    lost_after_s: float = spec(0.3, "no face for this long reports face_lost", lo=0.0, hi=10.0)
    found_after_s: float = spec(0.1, "a face for this long reports face_found", lo=0.0, hi=10.0)
    hold_box_s: float = spec(0.25, "reuse the last box for a frame with a missed detection", lo=0.0, hi=2.0)


@section
class EmotionConfig:
    """The sliding emotion window and its hysteresis."""

    window_s: float = spec(2.0, "sliding window length in seconds", lo=0.2, hi=60.0)
    min_face_s: float = spec(0.5, "face time in the window needed to report an emotion", lo=0.0, hi=60.0)
    switch_margin: float = spec(
        0.08, "a new emotion must beat the current one by this mean probability", lo=0.0, hi=1.0
    )
    min_hold_s: float = spec(1.0, "the reported emotion is held at least this long", lo=0.0, hi=60.0)
    flip_tta: bool = spec(False, "average each face with its mirror image (2x inference cost)")


@section
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
    haar_cascade: str = spec(
        "haarcascade_eye.xml", "locate haar: eye cascade file, a name in cv2.data.haarcascades or a path"
    )
    haar_search_height_frac: float = spec(
        0.6, "locate haar: eyes are searched in this top share of the face box", lo=0.3, hi=1.0
    )
    haar_search_width_px: int = spec(
        160, "locate haar: the searched part of the face is downscaled to this width", lo=40, hi=1920
    )
    haar_scale_factor: float = spec(1.1, "locate haar: pyramid scale step", lo=1.01, hi=2.0)
    haar_min_neighbors: int = spec(3, "locate haar: detections needed to accept an eye", lo=1, hi=20)
    haar_min_eye_frac: float = spec(
        0.12, "locate haar: smallest eye box, as a fraction of the face width", lo=0.02, hi=1.0
    )
    haar_max_eye_frac: float = spec(
        0.45, "locate haar: largest eye box, as a fraction of the face width", lo=0.02, hi=1.0
    )
    haar_max_offset_frac: float = spec(
        0.12,
        "locate haar: a detection farther than this (face widths) from the geometric eye centre is ignored",
        lo=0.0,
        hi=1.0,
    )
    haar_lid_shift_frac: float = spec(
        0.02,
        "locate haar: the eye square sits this far (face heights) below a detection's centre (the"
        " cascade's boxes reach up to the brow)",
        lo=-0.5,
        hi=0.5,
    )
