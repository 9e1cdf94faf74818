"""The FrameSource protocol: it states what the runner uses, and every source class satisfies it."""

from __future__ import annotations

import ast
import inspect
import sys

import pytest

from edge_monitor import service
from edge_monitor.sources.base import FrameSource
from edge_monitor.sources.camera import OpenCvCamera
from edge_monitor.sources.picam import PicameraSource
from edge_monitor.sources.replay import VideoFileSource
from edge_monitor.sources.resilient import ResilientSource
from tests.fakes import FakeClock, make_fake_picamera2


def _protocol_members() -> set[str]:
    names = set(FrameSource.__annotations__)
    names |= {k for k in vars(FrameSource) if not k.startswith("_")}
    return names


def test_the_protocol_states_every_member_the_runner_uses():
    tree = ast.parse(inspect.getsource(service))
    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "source"
    }
    assert {"read", "close", "elapsed", "last_index", "size"} <= used  # the walk finds them
    assert used <= _protocol_members()


def _sources(clip, monkeypatch):
    """One of each source class, opened on a real clip or (picamera2) a fake module."""
    path = clip("pyfeat/single_face.mp4")
    monkeypatch.setitem(sys.modules, "picamera2", make_fake_picamera2([]))
    clock = FakeClock()
    # OpenCV opens a path where it takes an index: the camera's own code, on real video.
    camera = lambda: OpenCvCamera(str(path), 640, 360, 30.0, clock=clock)  # noqa: E731
    return clock, {
        "replay": VideoFileSource(path),
        "opencv": camera(),
        "picamera": PicameraSource(320, 240, 15, clock=clock),
        "resilient": ResilientSource(camera, 2.0, 0.1, 1.0, 10.0, clock=clock),
    }


def test_every_source_class_satisfies_the_protocol(clip, monkeypatch):
    clock, sources = _sources(clip, monkeypatch)
    assert {type(s) for s in sources.values()} == {
        VideoFileSource,
        OpenCvCamera,
        PicameraSource,
        ResilientSource,
    }
    for name, src in sources.items():
        assert isinstance(src, FrameSource), name
        missing = {m for m in _protocol_members() if not hasattr(src, m)}
        assert not missing, (name, missing)
        assert src.last_index == -1, name
        frames = []
        for _ in range(3):
            clock.advance(0.25)
            frames.append(src.read())
        assert [f.index for f in frames] == [0, 1, 2], name
        assert src.last_index == 2, name
        clock.advance(0.25)
        if src.live:  # the camera's clock has moved on since its last frame
            assert src.elapsed() == pytest.approx(frames[-1].t + 0.25), name
        else:  # a clip's time is the last frame's
            assert src.elapsed() == pytest.approx(frames[-1].t), name
        src.close()
        src.close()
        assert src.read() is None, name
