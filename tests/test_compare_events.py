"""scripts/compare_events.py: exact events, except float-derived numbers within a measured tolerance."""

import importlib.util
import json
import sys

import pytest

from tests.conftest import REPO
from tests.test_fetch_models import require_fetched


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # float_sensitivity imports compare_events by this name
    spec.loader.exec_module(module)
    return module


compare_events = _script("compare_events")
float_sensitivity = _script("float_sensitivity")


def _log(ear=0.2943, attentive=92.8, sleep_frame=74) -> list[dict]:
    return [
        {"t": 0.0, "frame": 0, "kind": "start", "id": "a", "source": "video /x/clip.mp4"},
        {"t": 3.086, "frame": sleep_frame, "kind": "sleep", "id": "b", "duration_s": 3.003},
        {"t": 11.05, "frame": 265, "kind": "calibrated", "id": "c", "ear": ear, "yaw_deg": -23.49},
        {
            "t": 19.6,
            "frame": 471,
            "kind": "summary",
            "id": "d",
            "attentive_pct": attentive,
            "calibration": {"ear": ear},
            "wall_s": 2.9,
            "stopped_by": "end",
        },
    ]


TOLERANCES = {"calibrated.ear": 0.0023, "summary.calibration.ear": 0.0023, "summary.attentive_pct": 0.43}


def test_same_decisions_match_exactly_and_wall_clock_and_ids_are_ignored():
    other = _log()
    other[3]["wall_s"], other[1]["id"] = 5.0, "z"
    assert compare_events.compare(_log(), other) == []


def test_float_derived_numbers_match_only_within_the_measured_tolerance():
    arm = _log(ear=0.2942, attentive=93.22)  # the measured x86 / arm64 difference (docs/arm64.md)
    assert compare_events.compare(_log(), arm)  # exact without tolerances
    assert compare_events.compare(_log(), arm, TOLERANCES) == []
    assert compare_events.compare(_log(), _log(ear=0.2900), TOLERANCES)  # 0.0043 > 0.0023
    assert compare_events.compare(_log(), _log(attentive=93.3), TOLERANCES)  # 0.5 > 0.43
    assert compare_events.compare(_log(), arm, {"calibrated.ear": 0.0023})  # a field not listed stays exact


def test_a_tolerance_never_applies_to_a_decision():
    """A frame is not a float-derived number, whatever the tolerance file says."""
    assert compare_events.compare(_log(), _log(sleep_frame=75), {**TOLERANCES, "sleep.frame": 1.0})


def test_cli_reads_a_sensitivity_result_and_rejects_a_bad_one(tmp_path, capsys):
    ref, arm, tol = tmp_path / "x86.jsonl", tmp_path / "arm.jsonl", tmp_path / "tol.json"
    ref.write_text("".join(json.dumps(e) + "\n" for e in _log()))
    arm.write_text("".join(json.dumps(e) + "\n" for e in _log(ear=0.2942, attentive=93.22)))
    assert compare_events.main([str(ref), str(arm)]) == 1
    tol.write_text(json.dumps({"moved": TOLERANCES}))
    assert compare_events.main([str(ref), str(arm), "--tolerances", str(tol)]) == 0
    assert "float-derived numbers within" in capsys.readouterr().out
    tol.write_text("{}")
    with pytest.raises(SystemExit, match="not a float_sensitivity result"):
        compare_events.main([str(ref), str(arm), "--tolerances", str(tol)])


def test_deviations_records_the_largest_move_and_changed_decisions():
    runs = [_log(ear=0.2940), _log(ear=0.2950, attentive=93.0)]
    result = float_sensitivity.deviations(_log(), runs)
    assert result["moved"]["calibrated.ear"] == pytest.approx(0.0007)
    assert result["moved"]["summary.attentive_pct"] == pytest.approx(0.2)
    assert result["other_changes"] == {}
    changed = _log()
    changed[1]["kind"] = "microsleep"
    assert float_sensitivity.deviations(_log(), [changed])["other_changes"] == {
        "0": ["the events' kinds or number"]
    }


def test_perturbing_the_float_models_moves_the_replay_within_reach(clip, tmp_path):
    """A real replay, once as is and once with BlazeFace's and the mesh's outputs moved within
    their parity tolerance: the numbers move, and the result is what compare_events reads."""
    require_fetched()
    video = clip("pyfeat/WolfgangLanger_Pexels.mp4")
    out = tmp_path / "sensitivity.json"
    assert float_sensitivity.main([str(video), "--runs", "1", "--out", str(out)]) == 0
    moved = json.loads(out.read_text())["moved"]
    assert "summary.calibration.ear" in moved
    assert all(0 < v < 1 for k, v in moved.items() if k.endswith((".ear", "_open", "_width")))
