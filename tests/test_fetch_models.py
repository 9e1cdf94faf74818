"""scripts/fetch_models.py: the third-party face models, fetched by name and pinned version, checked."""

from __future__ import annotations

import importlib.util
import os
import zipfile
from pathlib import Path

import pytest

from edge_monitor.errors import ModelNotFoundError
from edge_monitor.paths import FETCH_COMMAND, shipped_models_dir, thirdparty_model_path

REPO = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location("fetch_models", REPO / "scripts" / "fetch_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fetch = _script()


def require_fetched() -> Path:
    """The third-party models where edge-monitor finds them (the checkout's models/thirdparty, or
    the installed package's); skipped when not fetched (a failure under CI=true)."""
    dest = shipped_models_dir() / "thirdparty"
    left = fetch.problems(dest)
    if left:
        msg = f"third-party models not fetched ({left[0]}); run: {FETCH_COMMAND}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI: {msg}")
        pytest.skip(msg)
    return dest


def _wheel_from(src: Path, path: Path, tamper: str | None = None) -> Path:
    # A wheel laid out as mediapipe's, built from the fetched files (optionally one altered).
    with zipfile.ZipFile(path, "w") as zf:
        for name, (member, _, _) in fetch.FILES.items():
            data = (src / name).read_bytes()
            zf.writestr(member, data[:-1] + bytes([data[-1] ^ 1]) if name == tamper else data)
        zf.writestr(fetch.LICENSE_MEMBER, (src / "LICENSE").read_bytes())
    return path


def test_the_fetched_files_have_the_pinned_sums_licence_and_notice():
    dest = require_fetched()
    assert fetch.problems(dest) == []
    assert "Apache License" in (dest / "LICENSE").read_text()
    notice = (dest / "NOTICE").read_text()
    assert "mediapipe==0.10.14" in notice and "bbff11ce" in notice and "1055cb9d" in notice
    assert (dest / "face_detection_short_range.tflite").stat().st_size == 229_714
    assert (dest / "face_landmark.tflite").stat().st_size == 1_242_398


def test_extract_from_a_wheel_then_idempotent(tmp_path, capsys):
    src = require_fetched()
    wheel = _wheel_from(src, tmp_path / "mediapipe-0.10.14-x.whl")
    dest = tmp_path / "out"
    assert fetch.main(["--check", "--dest", str(dest)]) == 1
    fetch.ensure(dest, wheel)
    assert fetch.problems(dest) == []
    before = {p.name: p.stat().st_mtime_ns for p in dest.iterdir()}
    fetch.ensure(dest, wheel=tmp_path / "not-even-there.whl")  # in place: nothing is read or written
    assert {p.name: p.stat().st_mtime_ns for p in dest.iterdir()} == before
    assert fetch.main(["--check", "--dest", str(dest)]) == 0
    assert "in place" in capsys.readouterr().err


def test_a_wrong_checksum_is_refused_and_nothing_is_written(tmp_path):
    src = require_fetched()
    wheel = _wheel_from(src, tmp_path / "bad.whl", tamper="face_landmark.tflite")
    dest = tmp_path / "out"
    with pytest.raises(SystemExit, match=r"face_landmark\.tflite .* expected 1055cb9d.*Refusing"):
        fetch.ensure(dest, wheel)
    assert not dest.exists()


def test_a_damaged_file_in_place_is_replaced(tmp_path):
    src = require_fetched()
    wheel = _wheel_from(src, tmp_path / "m.whl")
    dest = tmp_path / "out"
    fetch.ensure(dest, wheel)
    (dest / "face_detection_short_range.tflite").write_bytes(b"junk")
    assert any("does not have sha256 bbff11ce" in p for p in fetch.problems(dest))
    fetch.ensure(dest, wheel)
    assert fetch.problems(dest) == []


def test_not_a_wheel(tmp_path):
    junk = tmp_path / "x.whl"
    junk.write_bytes(b"not a zip")
    with pytest.raises(SystemExit, match="is not a wheel"):
        fetch.ensure(tmp_path / "out", junk)


def test_a_missing_model_names_the_fetch_command(tmp_path):
    with pytest.raises(ModelNotFoundError, match=r"scripts/fetch_models\.py"):
        thirdparty_model_path(str(tmp_path / "face_landmark.tflite"), "face_landmark.tflite")


def test_the_package_build_and_every_install_path_fetch():
    makefile = (REPO / "Makefile").read_text()
    assert makefile.count("$(FETCH_MODELS)") >= 4  # both venvs, demo, test
    assert "fetch_models.py" in (REPO / "deploy" / "install.sh").read_text()
    setup = (REPO / "setup.py").read_text()
    assert "fetch_models.py" in setup and "build_py" in setup
    assert '"thirdparty/*"' in (REPO / "pyproject.toml").read_text()
    assert "/models/thirdparty/" in (REPO / ".gitignore").read_text().splitlines()
