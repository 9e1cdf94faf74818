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


# Keys that were literals in the code before issue 20: each bad value is the config's own error,
# with the exit code every other key's error has (the message names the key).
NEW_KEY_CASES = [
    ("fatigue", "yawn_prob", "1.5", ConfigRangeError),
    ("fatigue", "yawn_prob", "high", ConfigTypeError),
    ("fatigue", "perclos_clear_ratio", "0", ConfigRangeError),
    ("fatigue", "perclos_clear_ratio", "[0.8]", ConfigTypeError),
    ("fatigue", "max_gap_s", "0.01", ConfigRangeError),
    ("fatigue", "max_gap_s", "true", ConfigTypeError),
    ("calibration", "max_frame_gap_s", "0", ConfigRangeError),
    ("calibration", "mouth_rest_percentile", "101", ConfigRangeError),
    ("calibration", "mouth_rest_percentile", "low", ConfigTypeError),
    ("eyes", "haar_cascade", "3", ConfigTypeError),
    ("eyes", "haar_search_height_frac", "0.1", ConfigRangeError),
    ("eyes", "haar_search_width_px", "20", ConfigRangeError),
    ("eyes", "haar_search_width_px", "160.5", ConfigTypeError),
    ("eyes", "haar_scale_factor", "1.0", ConfigRangeError),
    ("eyes", "haar_min_neighbors", "0", ConfigRangeError),
    ("eyes", "haar_min_neighbors", "2.5", ConfigTypeError),
    ("eyes", "haar_min_eye_frac", "0.01", ConfigRangeError),
    ("eyes", "haar_max_eye_frac", "1.5", ConfigRangeError),
    ("eyes", "haar_min_eye_frac", "0.5", ConfigRangeError),  # not below haar_max_eye_frac (0.45)
    ("eyes", "haar_max_offset_frac", "-0.1", ConfigRangeError),
    ("eyes", "haar_lid_shift_frac", "0.6", ConfigRangeError),
    ("eyes", "haar_lid_shift_frac", "'0.02'", ConfigTypeError),
]


@pytest.mark.parametrize(("section", "key", "value", "error"), NEW_KEY_CASES)
def test_each_new_key_rejects_a_bad_value_with_its_exit_code(tmp_path, section, key, value, error):
    from edge_monitor.cli import main

    f = tmp_path / "bad.yaml"
    f.write_text(f"{section}:\n  {key}: {value}\n")
    with pytest.raises(error, match=key):
        load_config(f)
    assert main(["--config", str(f), "--print-config"]) == error.exit_code


def test_new_keys_default_to_the_values_the_code_had():
    # Written out here (not read from the dataclasses): the values that were literals in the code.
    c = Config()
    assert (c.fatigue.yawn_prob, c.fatigue.perclos_clear_ratio, c.fatigue.max_gap_s) == (0.5, 0.8, 0.5)
    assert (c.calibration.max_frame_gap_s, c.calibration.mouth_rest_percentile) == (0.5, 25.0)
    e = c.eyes
    assert e.haar_cascade == "haarcascade_eye.xml"
    assert (e.haar_search_height_frac, e.haar_search_width_px) == (0.6, 160)
    assert (e.haar_scale_factor, e.haar_min_neighbors) == (1.1, 3)
    assert (e.haar_min_eye_frac, e.haar_max_eye_frac) == (0.12, 0.45)
    assert (e.haar_max_offset_frac, e.haar_lid_shift_frac) == (0.12, 0.02)


def test_a_section_describes_each_key_in_its_docstring():
    from edge_monitor.config.fields import section, spec

    @section
    class Good:
        """A section.

        Attributes:
            a: the first key, described over
                two lines
            b: the second key
        """

        a: int = spec(1, lo=0, hi=2)
        b: str = spec("x", choices=("x", "y"))

    docs = {f.name: f.metadata["doc"] for f in dataclasses.fields(Good)}
    assert docs == {"a": "the first key, described over two lines", "b": "the second key"}
    assert dataclasses.fields(Good)[0].metadata["hi"] == 2
    with pytest.raises(TypeError, match=r"undescribed: \['b'\], unknown: \['c'\]"):

        @section
        class Bad:
            """A section.

            Attributes:
                a: described
                c: not a key
            """

            a: int = spec(1)
            b: int = spec(2)
