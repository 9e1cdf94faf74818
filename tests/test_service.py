"""The Runner: start/summary events on every exit path, stop event, frame limit, sink closing."""

from __future__ import annotations

import threading

import pytest

from edge_monitor.errors import CameraError
from edge_monitor.faces import DriverFaceTracker, HaarFaceDetector
from edge_monitor.outputs.events import EventLog, read_events
from edge_monitor.outputs.sinks import EventLogSink, Sink
from edge_monitor.pipeline import Pipeline
from edge_monitor.service import Runner
from edge_monitor.sources.replay import VideoFileSource
from tests.fakes import FixedClassifier, ListSource


class Recorder(Sink):
    def __init__(self, stop_at: int | None = None, stop: threading.Event | None = None):
        self.events, self.frames, self.closed = [], 0, 0
        self._stop_at, self._stop = stop_at, stop

    def on_event(self, event):
        self.events.append(event)

    def on_frame(self, result):
        self.frames += 1
        if self._stop_at is not None and self.frames == self._stop_at:
            self._stop.set()

    def close(self):
        self.closed += 1


def haar_pipeline(config, classifier) -> Pipeline:
    tracker = DriverFaceTracker(HaarFaceDetector(config.detector), config.detector, config.face)
    return Pipeline(tracker, classifier, config)


@pytest.fixture
def pipeline(config):
    """The real pipeline with a fixed emotion classifier: these runs see no face, so need no model."""
    return haar_pipeline(config, FixedClassifier())


def test_start_and_summary_frame_the_run(pipeline):
    rec = Recorder()
    src = ListSource(10)
    summary = Runner(src, pipeline, [rec], start_info={"model": "m"}).run()
    kinds = [e.kind for e in rec.events]
    assert kinds == ["start", "summary"]
    start, end = rec.events
    assert start.data["source"] == "list" and start.data["model"] == "m" and start.data["frame_count"] == 10
    assert end.data["frames"] == 10 and end.data["face_frames"] == 0 and end.data["stopped_by"] == "end"
    assert summary.frames == rec.frames == 10
    assert rec.closed == 1 and src.closed == 1


def test_stop_event_ends_the_loop_after_the_current_frame(pipeline):
    stop = threading.Event()
    rec = Recorder(stop_at=4, stop=stop)
    Runner(ListSource(100), pipeline, [rec], stop=stop).run()
    assert rec.frames == 4
    assert rec.events[-1].data["stopped_by"] == "signal"


def test_max_frames(pipeline):
    rec = Recorder()
    Runner(ListSource(100), pipeline, [rec], max_frames=7).run()
    assert rec.frames == 7 and rec.events[-1].data["stopped_by"] == "max_frames"


def test_a_source_error_still_writes_the_summary_and_closes_everything(pipeline, tmp_path):
    log = EventLog(tmp_path / "e.jsonl")
    src = ListSource(100, fail_after=5)
    rec = Recorder()
    with pytest.raises(CameraError):
        Runner(src, pipeline, [EventLogSink(log), rec]).run()
    events = read_events(tmp_path / "e.jsonl")
    assert [e["kind"] for e in events] == ["start", "summary"]
    assert events[-1]["stopped_by"] == "error" and events[-1]["frames"] == 5
    assert src.closed == 1 and rec.closed == 1


def test_a_failing_sink_close_does_not_keep_the_source_open(pipeline):
    class Broken(Sink):
        def close(self):
            raise OSError("disk gone")

    src = ListSource(3)
    rec = Recorder()
    Runner(src, pipeline, [Broken(), rec]).run()
    assert src.closed == 1 and rec.closed == 1


def test_a_run_without_frames_is_still_framed_by_start_and_summary(pipeline):
    rec = Recorder()
    Runner(ListSource(0), pipeline, [rec]).run()
    assert [e.kind for e in rec.events] == ["start", "summary"]
    assert rec.events[1].data["frames"] == 0 and rec.closed == 1


def test_pipeline_on_a_real_clip_reports_face_and_emotion(config, emotion_classifier, clip):
    pipeline = haar_pipeline(config, emotion_classifier)
    rec = Recorder()
    Runner(VideoFileSource(clip("pyfeat/single_face.mp4")), pipeline, [rec]).run()
    kinds = [e.kind for e in rec.events]
    assert kinds[0] == "start" and kinds[-1] == "summary"
    assert "face_found" in kinds and "emotion" in kinds
    assert "face_lost" not in kinds


def test_the_pipeline_reports_its_classifier_s_emotion_for_each_face_frame(config, clip):
    """The fake classifier's fixed answer comes out as the run's emotion, from model-sized crops."""
    fixed = FixedClassifier(top="surprise", p_top=0.9)
    rec = Recorder()
    summary = Runner(
        VideoFileSource(clip("pyfeat/single_face.mp4")), haar_pipeline(config, fixed), [rec]
    ).run()
    emotions = {e.data["emotion"] for e in rec.events if e.kind == "emotion"}
    assert emotions == {"surprise"}
    assert fixed.calls >= summary.face_frames > 0  # called on every frame with a face (twice with flip TTA)
