"""The README's reference sections say what the code does."""

import re

import pytest

from edge_monitor import errors
from edge_monitor.config import default_config_text
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def section(name: str) -> str:
    m = re.search(rf"<!-- {name}:begin -->\n(.*?)<!-- {name}:end -->", README, re.S)
    assert m, f"README lacks the {name} section"
    return m.group(1)


def test_config_reference_is_the_packaged_default():
    block = section("config")
    assert block.startswith("```yaml\n") and block.rstrip().endswith("```")
    assert block.removeprefix("```yaml\n").rstrip().removesuffix("```") == default_config_text()


def test_exit_code_table_lists_every_error_class():
    documented = dict(re.findall(r"^\| (\d+) \| (\w+) \|", section("exit-codes"), re.M))
    classes = {
        cls.__name__: cls.exit_code
        for cls in vars(errors).values()
        if isinstance(cls, type)
        and issubclass(cls, errors.EdgeMonitorError)
        and cls is not errors.EdgeMonitorError
    }
    assert {name: int(code) for code, name in documented.items()} == classes


def test_readme_names_the_two_commands_and_ci_runs_the_test_one():
    assert "make demo" in README and "make test" in README
    assert "make test" in (REPO / ".ci" / "run").read_text()


def test_emotion_model_section_is_generated_from_the_committed_evaluation():
    import importlib.util

    spec = importlib.util.spec_from_file_location("sync_docs", REPO / "scripts" / "sync_docs.py")
    sync_docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync_docs)
    block = section("model")
    assert block.strip() == sync_docs.model_block().strip()
    assert "shipped int8" in block and "MODEL_CARD.md" in block


def test_model_card_is_generated_from_the_committed_results(tmp_path):
    """MODEL_CARD.md is what ``python -m conversion.model_card`` writes from the committed files."""
    from conversion import model_card

    out = tmp_path / "MODEL_CARD.md"
    assert model_card.main(["--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == (REPO / "models" / "MODEL_CARD.md").read_text(encoding="utf-8")


def _small_meta(labels: list[str], side: int, metrics: dict, **fields) -> dict:
    """A small model's metadata as its trainer writes it (grey, [-1, 1] input unless told)."""
    meta = {"labels": labels, "input_width": side, "input_height": side, "scale": 1 / 127.5, "offset": -1.0}
    return {**meta, "metrics": metrics, **fields}


def test_small_model_section_judges_the_target_on_all_frames_and_shows_latency():
    from conversion.model_card import render_small

    test = {
        "images": 90,
        "groups": 9,
        "float_accuracy": 0.95,
        "int8_accuracy": 0.95,
        "top1_agreement": 1.0,
        "frames": 100,
        "faceless_frames": 10,
        "int8_accuracy_faceless_as_errors": 0.855,
        "int8_accuracy_faceless_as_no_yawn": 0.9,
        "turned_crops": 20,
        "int8_accuracy_turned": 0.9,
    }
    meta = _small_meta(["no_yawn", "yawn"], 32, {"test": test, "file_bytes": 1000})
    latency = {"inference_ms": {"p50": 0.0281, "p99": 0.034, "n": 1500}}
    text = render_small("yawn", meta, latency)
    assert "| all 100 test frames, the 10 without a face counted as errors | **85.50 %** |" in text
    assert "20 frames, 90.00 % right" in text
    assert "**not met**" in text  # 95 % on the frames with a face, but 85.5 % on all of them
    assert "0.028 / 0.034 ms (1,500 runs" in text
    test["int8_accuracy_faceless_as_errors"] = 0.96  # the lower number, 95 %, meets issue 15's 95 %
    assert ": met |" in render_small("yawn", meta, None)
    test["int8_accuracy_faceless_as_errors"] = 0.94
    assert "**not met**" in render_small("yawn", meta, None)
    assert "latency" not in render_small("yawn", meta, None)


@pytest.mark.parametrize(
    ("plain", "night", "helps"),
    [
        (0.0, 0.01, True),  # night-like +1 pp, plain unchanged
        (-0.003, 0.01, True),  # plain may lose 0.3 pp
        (-0.004, 0.02, False),  # ...not more
        (0.01, -0.003, True),  # or the other way round
        (0.009, 0.009, False),  # neither gains 1 pp
        (-0.0154, -0.0337, False),  # the eye model's measured equalize_hist run
    ],
)
def test_contrast_rule_and_row(plain, night, helps):
    from conversion.card_small import contrast_helps, render_small

    val = {"int8_accuracy": 0.95, "int8_accuracy_night_like": 0.90}
    cand = {"int8_accuracy": 0.95 + plain, "int8_accuracy_night_like": 0.90 + night}
    assert contrast_helps(val, cand) is helps
    meta = _small_meta(["open", "closed"], 24, {"val": val, "test": {}}, contrast="none")
    text = render_small("eye_state", meta, None, None, {"metrics": {"val": cand}})
    row = next(line for line in text.splitlines() if line.startswith("| contrast normalisation |"))
    assert row.startswith("| contrast normalisation | none. ")
    assert f"against 95.00 % / 90.00 %: it {'helps' if helps else 'does not help'} by the rule" in row
    assert "contrast normalisation" not in render_small("eye_state", meta, None, None, None)


def test_small_model_section_says_when_a_model_was_fitted_on_val_too():
    from conversion.model_card import render_small

    split = {"train": {"images": 3400}, "val": {"images": 712}}
    meta = _small_meta(
        ["closed", "open"], 24, {"test_accuracy": 0.97}, extra={"split": split, "fit_on": ["train"]}
    )
    assert "fitted on" not in render_small("eye_state", meta)  # val held out: nothing to say
    meta["extra"]["fit_on"] = ["train", "val"]
    assert "| fitted on | the train and val photos (4,112 images), last-epoch weights" in render_small(
        "eye_state", meta
    )


def _tflite_row(model: str, ferplus: float, agreed: float, fer2013: float) -> dict:
    pt = {"ferplus_accuracy": ferplus, "agreed_accuracy": agreed, "agreed_images": 2136}
    return {"model": model, "contrast": "none", "public_test": {**pt, "fer2013_accuracy": fer2013}}


@pytest.mark.parametrize(
    ("ferplus", "agreed", "fer2013", "ships"),
    [
        (0.70, 0.82, 0.50, True),  # better on FER+, as good where both agree: FER2013 alone no veto
        (0.70, 0.8199, 0.70, False),  # worse where both label sets agree
        (0.69, 0.90, 0.70, False),  # not better on FER+
        (0.6952, 0.90, 0.70, False),  # equal on FER+ is not better
    ],
)
def test_emotion_ship_rule(ferplus, agreed, fer2013, ships):
    from conversion.model_card import decision

    experiments = {
        "label_agreement": {"images": 3186, "agreed": 2136},
        "tflite": [
            _tflite_row("models/emotion.tflite", 0.6952, 0.82, 0.6309),
            _tflite_row("reports/emotion/older.tflite", 0.99, 0.99, 0.99),  # only the first and last count
            _tflite_row("runs/new.tflite", ferplus, agreed, fer2013),
        ],
    }
    text = decision(experiments)
    assert text.endswith(f"So it {'ships' if ships else 'does not ship'}.")
    assert "`runs/new.tflite` vs `models/emotion.tflite`" in text
    assert "scores 67.04 % on them (3,186 images with a majority)" in text
    assert f"FER2013's own labels {100 * fer2013:.2f} % vs 63.09 %" in text
