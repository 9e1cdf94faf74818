"""Config sections of the perception chain: camera, models, face detection, landmarks, emotion, eyes."""

from __future__ import annotations

from edge_monitor.config.fields import section, spec


@section
class SourceConfig:
    """The live camera (--camera/--picamera/--video on the command line take precedence).

    Attributes:
        kind: camera used without a source option
        camera_index: OpenCV camera index for kind opencv
        width: capture width in pixels
        height: capture height in pixels
        fps: requested camera frame rate
        read_timeout_s: a camera read blocking longer than this is a fault
        retry_initial_s: first wait before reopening a faulted camera (doubles)
        retry_max_s: longest wait between reopening attempts
        give_up_s: no frame for this long: exit non-zero (systemd restarts)
    """

    kind: str = spec("picamera", choices=("picamera", "opencv"))
    camera_index: int = spec(0, lo=0, hi=63)
    width: int = spec(640, lo=160, hi=4096)
    height: int = spec(480, lo=120, hi=4096)
    fps: float = spec(30.0, lo=1, hi=120)
    read_timeout_s: float = spec(2.0, lo=0.1, hi=60.0)
    retry_initial_s: float = spec(0.5, lo=0.05, hi=60.0)
    retry_max_s: float = spec(8.0, lo=0.1, hi=600.0)
    give_up_s: float = spec(30.0, lo=1.0, hi=3600.0)


@section
class ModelsConfig:
    """Model files; an empty path means the model shipped with the package.

    Attributes:
        emotion: emotion .tflite (metadata: the .json beside it); empty = shipped model
        eye_state: eye open/closed .tflite; empty = shipped model
        yawn: yawn .tflite; empty = shipped model
        threads: TFLite interpreter threads
    """

    emotion: str = spec("")
    eye_state: str = spec("")
    yawn: str = spec("")
    threads: int = spec(1, lo=1, hi=8)


@section
class DetectorConfig:
    """Face detection (Haar cascade or BlazeFace), searching near the last face.

    Attributes:
        kind: face detector: haar (OpenCV cascade, grey) or blazeface (MediaPipe's TFLite model, any pose)
        model: blazeface: .tflite; empty = the fetched face_detection_short_range.tflite
        min_score: blazeface: lowest face score kept
        nms_iou: blazeface: detections overlapping more than this are merged
        cascade: haar: cascade file, a name in cv2.data.haarcascades or a path
        detect_width_px: haar: frames are downscaled to this width for detection
        scale_factor: haar: pyramid scale step
        min_neighbors: haar: detections needed to accept a face
        min_face_frac: smallest face, as a fraction of the frame height
        roi_margin: search region = last face grown by this fraction per side
        roi_size_ratio: in the search region, faces from the last width / this to the last width x this
        full_scan_interval_s: scan the whole frame at least this often while tracking (finds a larger face)
        turned_cascade: haar: cascade for a face turned from the camera, tried (both sides) only when no
            frontal face is found; it feeds yawn detection only, and a turned face still counts as absent; ''
            = off
    """

    kind: str = spec("blazeface", choices=("haar", "blazeface"))
    model: str = spec("")
    min_score: float = spec(0.65, lo=0.05, hi=0.99)
    nms_iou: float = spec(0.3, lo=0.05, hi=0.95)
    cascade: str = spec("haarcascade_frontalface_default.xml")
    detect_width_px: int = spec(240, lo=80, hi=1920)
    scale_factor: float = spec(1.1, lo=1.01, hi=2.0)
    min_neighbors: int = spec(3, lo=1, hi=20)
    min_face_frac: float = spec(0.12, lo=0.02, hi=1.0)
    roi_margin: float = spec(0.5, lo=0.1, hi=3.0)
    roi_size_ratio: float = spec(1.5, lo=1.05, hi=4.0)
    full_scan_interval_s: float = spec(1.0, lo=0.0, hi=60.0)
    turned_cascade: str = spec("haarcascade_profileface.xml")


@section
class LandmarksConfig:
    """Face landmarks (468 points) on the driver's face: eye/mouth geometry, head pose, crops.

    Attributes:
        enabled: run the landmark model on the driver's face every frame
        model: face-landmark .tflite; empty = the fetched face_landmark.tflite
        min_presence: landmarks with a lower face score are rejected (no geometry this frame)
        margin: crop margin per side, as a fraction of the face box
    """

    enabled: bool = spec(True)
    model: str = spec("")
    min_presence: float = spec(0.5, lo=0.0, hi=1.0)
    margin: float = spec(0.25, lo=0.0, hi=1.0)


@section
class FaceConfig:
    """Debouncing of face presence, so one missed detection is not a lost face.

    Attributes:
        lost_after_s: no face for this long reports face_lost
        found_after_s: a face for this long reports face_found
        hold_box_s: reuse the last box for a frame with a missed detection
    """

    lost_after_s: float = spec(0.3, lo=0.0, hi=10.0)
    found_after_s: float = spec(0.1, lo=0.0, hi=10.0)
    hold_box_s: float = spec(0.25, lo=0.0, hi=2.0)


@section
class EmotionConfig:
    """The sliding emotion window and its hysteresis.

    Attributes:
        window_s: sliding window length in seconds
        min_face_s: face time in the window needed to report an emotion
        switch_margin: a new emotion must beat the current one by this mean probability
        min_hold_s: the reported emotion is held at least this long
        flip_tta: average each face with its mirror image (2x inference cost)
    """

    window_s: float = spec(2.0, lo=0.2, hi=60.0)
    min_face_s: float = spec(0.5, lo=0.0, hi=60.0)
    switch_margin: float = spec(0.08, lo=0.0, hi=1.0)
    min_hold_s: float = spec(1.0, lo=0.0, hi=60.0)
    flip_tta: bool = spec(False)


@section
class EyesConfig:
    """Eye state from eye crops inside the driver's face box.

    Attributes:
        locate: how eye crops are found in the face
        closed_threshold: P(closed) at or above which the eyes count as closed
        flip_average: average each eye crop with its mirror image (2x eye-model cost, 0.06 ms per crop)
        ear_closed_ratio: with face landmarks, the eyes count as closed only when the eye model says so and
            the eye aspect ratio is below this share of the driver's open-eye level
        hidden_dark_ratio: an eye region darker than this share of the cheeks' brightness, with little
            contrast, is hidden (dark sunglasses): eye state unknown
        hidden_max_std: grey-level standard deviation an eye region hidden by sunglasses stays under
        hidden_after_s: eyes seen hidden (or visible again) this long switches the eye state
        haar_cascade: locate haar: eye cascade file, a name in cv2.data.haarcascades or a path
        haar_search_height_frac: locate haar: eyes are searched in this top share of the face box
        haar_search_width_px: locate haar: the searched part of the face is downscaled to this width
        haar_scale_factor: locate haar: pyramid scale step
        haar_min_neighbors: locate haar: detections needed to accept an eye
        haar_min_eye_frac: locate haar: smallest eye box, as a fraction of the face width
        haar_max_eye_frac: locate haar: largest eye box, as a fraction of the face width
        haar_max_offset_frac: locate haar: a detection farther than this (face widths) from the geometric eye
            centre is ignored
        haar_lid_shift_frac: locate haar: the eye square sits this far (face heights) below a detection's
            centre (the cascade's boxes reach up to the brow)
    """

    locate: str = spec("geometric", choices=("geometric", "haar"))
    closed_threshold: float = spec(0.5, lo=0.05, hi=0.95)
    flip_average: bool = spec(False)
    ear_closed_ratio: float = spec(0.8, lo=0.1, hi=1.0)
    hidden_dark_ratio: float = spec(0.38, lo=0.05, hi=1.0)
    hidden_max_std: float = spec(26.0, lo=1.0, hi=80.0)
    hidden_after_s: float = spec(0.5, lo=0.0, hi=10.0)
    haar_cascade: str = spec("haarcascade_eye.xml")
    haar_search_height_frac: float = spec(0.6, lo=0.3, hi=1.0)
    haar_search_width_px: int = spec(160, lo=40, hi=1920)
    haar_scale_factor: float = spec(1.1, lo=1.01, hi=2.0)
    haar_min_neighbors: int = spec(3, lo=1, hi=20)
    haar_min_eye_frac: float = spec(0.12, lo=0.02, hi=1.0)
    haar_max_eye_frac: float = spec(0.45, lo=0.02, hi=1.0)
    haar_max_offset_frac: float = spec(0.12, lo=0.0, hi=1.0)
    haar_lid_shift_frac: float = spec(0.02, lo=-0.5, hi=0.5)
