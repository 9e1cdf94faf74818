"""The pipeline benchmark: its stage timer, a smoke run of every part, and its report."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from benchmarks import report
from benchmarks.stats import percentiles
from edge_monitor.builder import load_models
from edge_monitor.config import Config
from edge_monitor.paths import shipped_models_dir
from edge_monitor.pipeline import STAGES
from edge_monitor.sources.replay import VideoFileSource
from tests.conftest import REPO


class RecordingTimer:
    def __init__(self):
        self.laps: list[str] = []

    def lap(self, stage: str) -> None:
        self.laps.append(stage)


def test_pipeline_reports_every_stage_in_order_and_skips_face_stages_without_a_face(clip):
    models = load_models(Config())  # as the CLI and the benchmark build it
    timer = RecordingTimer()
    source = VideoFileSource(clip("pyfeat/single_face.mp4"))
    with_face = models.pipeline(timer=timer).step(source.read())
    source.close()
    assert with_face.face is not None and with_face.eye_closed_prob is not None
    assert with_face.geometry is not None  # the default config's landmark stage ran
    assert timer.laps == list(STAGES)

    timer.laps.clear()
    blank = VideoFileSource(clip("pyfeat/no_face.mp4"))
    result = models.pipeline(timer=timer).step(blank.read())  # a fresh tracker: no face to hold
    blank.close()
    models.close()
    assert result.face is None
    assert timer.laps == ["face_detect", "trackers_policy"]


def test_percentiles_in_milliseconds():
    p = percentiles([0.001] * 98 + [0.010, 0.020])
    assert p["p50"] == pytest.approx(1.0) and p["n"] == 100
    assert p["p99"] > 9.0 and p["mean"] == pytest.approx(1.28)
    assert percentiles([]) == {"n": 0}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    from tests.conftest import require_shared

    require_shared("clips/pyfeat/single_face.mp4")
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.pipeline", "--quick", "--out-dir", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out, json.loads((out / "results" / "pipeline.json").read_text()), proc.stdout


@pytest.mark.train
def test_quick_run_measures_every_part_on_the_real_clip(quick_run):
    _, result, stdout = quick_run
    frames = 72  # single_face.mp4
    for mode in ("one", "default"):
        dev = result["device"][mode]
        assert dev["clips"]["single_face.mp4"]["frames"] == frames
        stages = dev["all"]["stages_ms"]
        assert stages["decode"]["n"] == stages["sinks"]["n"] == dev["all"]["frame_ms"]["n"] == frames
        # Every frame of this clip has a face, so every face stage ran on every frame.
        assert stages["emotion"]["n"] == stages["eyes_yawn"]["n"] == frames
        assert 0 < stages["emotion"]["p50"] < dev["all"]["frame_ms"]["p50"]
        assert dev["peak_rss_mb"] >= dev["rss_after_load_mb"] > 0
    assert result["device"]["one"]["interpreter_threads"] == 1
    assert result["device"]["one"]["opencv_threads"] == 1
    base = result["baseline"]["one"]
    assert base["clips"]["single_face.mp4"]["recall_pct"] == 100.0
    assert result["device"]["one"]["clips"]["single_face.mp4"]["recall_pct"] == 100.0
    assert result["summary"]["face"] == {
        "gap_pp": {"single_face.mp4": 0.0},
        "worst_gap_pp": 0.0,
        "false_frames": 0,
        "reference_false_frames": 0,
        "extra_false_frames": 0,
    }
    assert result["summary"]["speedup"] == pytest.approx(
        result["device"]["one"]["all"]["fps"] / base["all"]["fps"], rel=0.02
    )
    assert len(result["sweep"]["candidates"]) == 2
    soak = result["soak"]
    assert soak["frames"] > frames and soak["loops"] >= 1 and soak["samples"]
    assert "speed-up over the usual approach" in stdout


@pytest.mark.train
def test_quick_run_writes_the_report_with_the_machine(quick_run):
    out, result, _ = quick_run
    md = (out / "results.md").read_text()
    assert result["machine"]["cpu"] in md and "Python" in md
    assert report.headline_table(result) in md
    assert "| single_face.mp4 | 72 |" in md


@pytest.mark.train
def test_only_re_measures_one_part_and_keeps_the_others(quick_run, tmp_path):
    _, before, _ = quick_run
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "pipeline.json").write_text(json.dumps(before))
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.pipeline", "clips/pyfeat/single_face.mp4", "--only", "device",
         "--repeats", "1", "--out-dir", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    after = json.loads((tmp_path / "results" / "pipeline.json").read_text())
    assert after["baseline"] == before["baseline"] and after["sweep"] == before["sweep"]
    assert after["soak"] == before["soak"]
    assert after["device"]["one"]["clips"]["single_face.mp4"]["frames"] == 72
    assert "landmarks" in after["device"]["one"]["all"]["stages_ms"]
    assert set(after["parts_measured"]) == {"device", "baseline", "sweep", "soak"}
    assert after["parts_measured"]["device"]["date"] == after["date"]
    assert "Parts measured" in (tmp_path / "results.md").read_text()


def test_only_needs_a_stored_run(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.pipeline", "--only", "soak", "--out-dir", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and "run the whole benchmark first" in proc.stderr


def test_missing_clip_is_a_one_line_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.pipeline", "clips/absent.mp4", "--out-dir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "clips not found" in proc.stderr
    assert not (tmp_path / "results.md").exists()


def test_committed_results_meet_what_the_readme_says():
    """The README's benchmark table is the one generated from the committed results."""
    result = json.loads((REPO / "benchmarks" / "results" / "pipeline.json").read_text())
    assert not result["quick"], "the committed results must come from a full run"
    readme = (REPO / "README.md").read_text()
    assert report.headline_table(result) in readme
    assert (REPO / "benchmarks" / "results.md").read_text() == report.render_markdown(result)


def test_face_rates_count_only_frames_with_a_person_and_flag_the_rest_as_false():
    detected = [True] * 72 + [False, True, False] + [False] * 94  # face_noface.mov: a person in 0-71
    r = report.face_rates("face_noface.mov", detected)
    assert r == {
        "frames": 169,
        "face_found_pct": round(100 * 73 / 169, 2),
        "person_frames": 72,
        "recall_pct": 100.0,
        "false_frames": 1,
    }
    assert report.face_rates("no_face.mp4", [False, True])["recall_pct"] is None
    whole = report.face_rates("any.mp4", [True, False, True, True])
    assert whole["person_frames"] == 4 and whole["recall_pct"] == 75.0 and whole["false_frames"] == 0


def test_face_gaps_take_the_worst_clip_and_compare_false_positives():
    ours = {
        "a.mp4": {"recall_pct": 99.0, "false_frames": 0},
        "b.mp4": {"recall_pct": 100.0, "false_frames": 1},
    }
    ref = {
        "a.mp4": {"recall_pct": 100.0, "false_frames": 2},
        "b.mp4": {"recall_pct": 98.0, "false_frames": 0},
    }
    g = report.face_gaps(ours, ref)
    assert g["gap_pp"] == {"a.mp4": -1.0, "b.mp4": 2.0} and g["worst_gap_pp"] == -1.0
    assert (g["false_frames"], g["reference_false_frames"], g["extra_false_frames"]) == (1, 2, -1)


def test_small_models_latency_times_both_models_on_real_crops(tmp_path):
    from benchmarks import small_models_latency
    from tests.conftest import require_shared

    require_shared("datasets/cew_eyes.npz")
    require_shared("datasets/yawdd_frames")
    out = tmp_path / "small.json"
    assert small_models_latency.main(["--crops", "20", "--repeats", "1", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["machine"]["cores"] == os.cpu_count()
    for name in ("eye_state", "yawn"):
        r = result["one_thread"][name]
        assert r["crops"] == 20 and r["inference_ms"]["n"] == 20
        assert 0 < r["inference_ms"]["p50"] <= r["inference_ms"]["p99"]
        assert r["model_bytes"] == (shipped_models_dir() / f"{name}.tflite").stat().st_size


def test_committed_fleet_results_are_rendered_from_their_json():
    """benchmarks/results/fleet.md is what benchmarks.fleet renders from the committed fleet.json."""
    from benchmarks import fleet

    results = REPO / "benchmarks" / "results"
    result = json.loads((results / "fleet.json").read_text())
    assert set(result["cases"]) == {"none", "up", "down", "black hole"} and result["repeats"] >= 5
    assert (results / "fleet.md").read_text() == fleet.render(result)
