"""The shipped int8 models give bit-identical outputs to the stored x86 reference, wherever they run.

The inputs are fixed and need no data (scripts/model_reference.py builds them: seeded noise,
gradients, flat levels, checkerboards); the reference was produced on x86. ``make test`` checks
x86 against it, ``make test-arm64`` checks arm64 (the Pi's CPU under qemu) against it: the raw
int8 output tensors and the probabilities ``predict_pixels`` returns must be equal, not close.
After changing a shipped model, regenerate: ``.venv/bin/python scripts/model_reference.py``.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from edge_monitor.paths import shipped_models_dir
from tests.conftest import REPO

GENERATOR = REPO / "scripts" / "model_reference.py"


def _generator():
    spec = importlib.util.spec_from_file_location("model_reference", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _generator()


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads(gen.REFERENCE.read_text(encoding="utf-8"))


def test_the_reference_covers_every_shipped_model(reference):
    shipped = {p.stem for p in shipped_models_dir().glob("*.tflite")}
    assert shipped == set(gen.MODELS) == set(reference["models"]), (
        "add the model to MODELS in scripts/model_reference.py and regenerate the reference"
    )
    for name, model in reference["models"].items():
        assert len(model["cases"]) >= 40, name
        assert {len(c["raw"]) for c in model["cases"].values()} == {len(model["labels"])}, name


def test_the_inputs_are_deterministic():
    first = [(name, pixels.tobytes()) for name, pixels in gen.cases(24, 24)]
    again = [(name, pixels.tobytes()) for name, pixels in gen.cases(24, 24)]
    assert first == again
    assert len({name for name, _ in first}) == len(first), "case names must be unique"


@pytest.mark.parametrize("name", gen.MODELS)
def test_outputs_are_bit_identical_to_the_reference(name, reference):
    actual = {"models": {name: gen.run_model(name, shipped_models_dir())}}
    problems = gen.differences(reference, actual)
    assert not problems, f"{len(problems)} differences from {gen.REFERENCE.name}:\n" + "\n".join(
        problems[:20]
    )


def test_a_changed_output_is_reported(reference):
    # The comparison is exact: one int8 step in one case is a difference.
    actual = json.loads(json.dumps({"models": {"yawn": reference["models"]["yawn"]}}))
    case = next(iter(actual["models"]["yawn"]["cases"].values()))
    case["raw"][0] += 1
    assert len(gen.differences(reference, actual)) == 1


@pytest.mark.parametrize("name", gen.THIRDPARTY)
def test_third_party_float_models_match_the_reference_within_tolerance(name, reference):
    from tests.test_fetch_models import require_fetched

    models_dir = require_fetched().parent
    actual = {"thirdparty": {name: gen.run_thirdparty(name, models_dir)}}
    assert len(reference["thirdparty"][name]["cases"]) == 8
    problems = gen.thirdparty_differences(reference, actual)
    assert not problems, "\n".join(problems[:20])
    # The tolerance is not vacuous: a 1 % change of one stored value is a difference.
    case = next(iter(actual["thirdparty"][name]["cases"].values()))
    tensor = next(iter(case["outputs"].values()))
    tensor[0] = tensor[0] * 1.01 + 0.01
    assert len(gen.thirdparty_differences(reference, actual)) == 1
