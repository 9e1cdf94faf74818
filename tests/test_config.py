import dataclasses

import pytest

from edge_monitor.config import Config, default_config_text, dump_yaml, load_config, parse_config
from edge_monitor.errors import (
    ConfigError,
    ConfigKeyError,
    ConfigRangeError,
    ConfigSyntaxError,
    ConfigTypeError,
)


def test_packaged_defaults_match_the_dataclass_defaults():
    # default.yaml is what users read; it must say exactly what the code does.
    assert default_config_text() == dump_yaml(Config())
    assert load_config() == Config()


def test_user_file_overrides_only_what_it_names(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("emotion:\n  window_s: 5\ndetector:\n  min_neighbors: 3\n")
    cfg = load_config(f)
    assert cfg.emotion.window_s == 5.0 and isinstance(cfg.emotion.window_s, float)
    assert cfg.detector.min_neighbors == 3
    assert cfg.face == Config().face


def test_empty_file_gives_defaults(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("# nothing\n")
    assert load_config(f) == Config()


def test_print_config_round_trips():
    cfg = dataclasses.replace(Config(), events=dataclasses.replace(Config().events, path="/var/x.jsonl"))
    assert parse_config(dump_yaml(cfg)) == cfg


@pytest.mark.parametrize(
    ("text", "error", "needles"),
    [
        (
            "emotion:\n  window_sec: 3\n",
            ConfigKeyError,
            ["emotion.window_sec", "unknown key", "line 2", "window_s"],
        ),
        ("colour: red\n", ConfigKeyError, ["colour", "unknown key", "line 1"]),
        (
            "detector:\n  min_neighbors: 2.5\n",
            ConfigTypeError,
            ["detector.min_neighbors", "2.5", "integer", "line 2"],
        ),
        ("emotion:\n  flip_tta: 1\n", ConfigTypeError, ["emotion.flip_tta", "true or false"]),
        ("detector:\n  min_neighbors: true\n", ConfigTypeError, ["detector.min_neighbors", "True"]),
        ("models:\n  emotion: 3\n", ConfigTypeError, ["models.emotion", "string"]),
        ("emotion: 3\n", ConfigTypeError, ["emotion", "mapping"]),
        (
            "emotion:\n  window_s: -1\n",
            ConfigRangeError,
            ["emotion.window_s", "-1", "between 0.2 and 60", "line 2"],
        ),
        ("detector:\n  scale_factor: .nan\n", ConfigRangeError, ["detector.scale_factor", "finite"]),
        ("source:\n  kind: usb\n", ConfigRangeError, ["source.kind", "'usb'", "picamera, opencv"]),
        ("emotion:\n  window_s: [1\n", ConfigSyntaxError, ["YAML syntax error", "line 3"]),
        ("a: b: c\n", ConfigSyntaxError, ["YAML syntax error", "line 1"]),
        ("gpio:\n  led_pin: 17\n", ConfigRangeError, ["gpio.led_pin", "17", "buzzer_pin"]),
        (
            "attention:\n  warning_s: 2\n",
            ConfigRangeError,
            ["notice_s < warning_s < alarm_s", "3.0, 2.0, 11.0"],
        ),
        ("fatigue:\n  microsleep_s: 3\n", ConfigRangeError, ["blink_max_s < microsleep_s <= long_closure_s"]),
    ],
)
def test_bad_values_name_the_key_value_reason_and_line(tmp_path, text, error, needles):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(error) as exc:
        load_config(f)
    msg = str(exc.value)
    assert str(f) in msg
    assert "\n" not in msg
    for needle in needles:
        assert needle in msg


def test_each_config_error_has_its_own_exit_code():
    codes = [
        cls.exit_code
        for cls in (ConfigError, ConfigSyntaxError, ConfigKeyError, ConfigTypeError, ConfigRangeError)
    ]
    assert len(set(codes)) == len(codes) and all(c > 2 for c in codes)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
