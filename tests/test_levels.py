"""The alert levels: one ordered definition the policy, GPIO, snapshots and config share."""

from __future__ import annotations

import dataclasses

import pytest

from edge_monitor.config import SnapshotsConfig
from edge_monitor.levels import DRIVER_LEVELS, FAULT, LEVELS, rank


def test_levels_are_ordered_lowest_first_with_fault_on_top():
    assert LEVELS == ("ok", "notice", "warning", "alarm", "fault")
    assert DRIVER_LEVELS == ("ok", "notice", "warning", "alarm")
    assert [rank(level) for level in ("ok", "notice", "warning", "alarm", "fault")] == [0, 1, 2, 3, 4]
    assert rank(FAULT) > rank("alarm")


def test_an_unknown_level_is_a_value_error():
    with pytest.raises(ValueError, match="unknown alert level 'ALARM'"):
        rank("ALARM")


def test_snapshot_levels_are_every_level_but_ok():
    (min_level,) = [f for f in dataclasses.fields(SnapshotsConfig) if f.name == "min_level"]
    assert tuple(min_level.metadata["choices"]) == ("notice", "warning", "alarm", "fault")
