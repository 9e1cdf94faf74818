"""NativeStderrProbe tells OpenCV's own failure lines from other output on fd 2."""

import os
import threading

import cv2
import numpy as np

from edge_monitor.native import NativeStderrProbe


def test_another_threads_line_is_written_back_not_taken_for_a_failure(capfd):
    probe = NativeStderrProbe()
    try:
        with probe:
            t = threading.Thread(target=os.write, args=(2, b"edge-monitor: fleet: broker unreachable\n"))
            t.start()
            t.join()
        assert probe.text == ""
        assert capfd.readouterr().err == "edge-monitor: fleet: broker unreachable\n"
    finally:
        probe.close()


def test_opencv_failure_line_is_captured_and_the_rest_kept(capfd):
    probe = NativeStderrProbe()
    try:
        with probe:
            os.write(
                2, b"a log line before\n[ WARN:0@0.389] global cap_ffmpeg.cpp:218 write FFmpeg: Failed\n"
            )
        assert probe.text == "[ WARN:0@0.389] global cap_ffmpeg.cpp:218 write FFmpeg: Failed"
        assert capfd.readouterr().err == "a log line before\n"
    finally:
        probe.close()
        probe.close()  # idempotent


def test_a_good_opencv_write_reports_nothing(tmp_path):
    """(A real failed write, a full disk, is case 12 of tests/test_faults_outputs.py.)"""
    probe = NativeStderrProbe()
    writer = cv2.VideoWriter(str(tmp_path / "v.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48), True)
    try:
        assert writer.isOpened()
        with probe:
            writer.write(np.zeros((48, 64, 3), np.uint8))
        assert probe.text == ""
    finally:
        writer.release()
        probe.close()
