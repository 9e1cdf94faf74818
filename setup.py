"""Build hook: fetch the third-party face models before the package's data files are collected.

All metadata is in ``pyproject.toml``; this only makes ``pip install .`` (and the editable installs
of ``make demo`` / ``make test``) end with ``models/thirdparty`` in place, by running
``scripts/fetch_models.py`` (idempotent: nothing is fetched when the files are there and correct).
"""

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def _fetch_models() -> None:
    spec = importlib.util.spec_from_file_location("fetch_models", HERE / "scripts" / "fetch_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.ensure(quiet=True)


class BuildPyWithModels(build_py):
    """``build_py`` that fetches the third-party models first, so they are packaged."""

    def run(self):
        _fetch_models()
        self.__dict__.pop("data_files", None)  # collected lazily: recollect with the new files
        super().run()


setup(cmdclass={"build_py": BuildPyWithModels})
