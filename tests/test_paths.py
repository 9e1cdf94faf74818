from pathlib import Path

from edge_monitor.paths import model_path, shipped_models_dir


def test_shipped_models_are_found_in_the_checkout_or_package():
    d = shipped_models_dir()
    assert (d / "emotion.tflite").is_file() and (d / "emotion.json").is_file()


def test_configured_path_wins_and_expands_the_home_directory():
    assert model_path("", "emotion") == shipped_models_dir() / "emotion.tflite"
    assert model_path("~/m/e.tflite", "emotion") == Path.home() / "m" / "e.tflite"
