"""Frame sources: a recorded clip, an OpenCV camera, the Raspberry Pi camera (picamera2)."""

from edge_monitor.sources.base import FrameSource

__all__ = ["FrameSource"]
