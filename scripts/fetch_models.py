#!/usr/bin/env python3
"""Fetch the third-party face models (MediaPipe's BlazeFace and face mesh) into ``models/thirdparty``.

Both ``.tflite`` files come from the ``mediapipe==0.10.14`` wheel on PyPI (Apache-2.0), fetched by
name and pinned version through pip (so pip's cache serves repeated builds), checked against their
sha256 sums and written with the wheel's licence and a NOTICE. The files are the same in every
platform's wheel; the x86-64 one is fetched everywhere. ``mediapipe`` itself is never installed (its
dependencies conflict with ours) and nothing is downloaded at run time: ``make demo``, ``make test``,
``deploy/install.sh`` and ``pip install .`` (the build hook in ``setup.py``) run this script.

Standard library only: it runs before any dependency is installed.

    python scripts/fetch_models.py               fetch unless already in place (idempotent)
    python scripts/fetch_models.py --check       verify only; exit 1 if missing or wrong
    python scripts/fetch_models.py --wheel W.whl extract from a wheel already on disk (no network)

Exit codes: 0 in place · 1 missing/wrong (``--check``) or the fetch failed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEST = REPO / "models" / "thirdparty"
PACKAGE, VERSION = "mediapipe", "0.10.14"
LICENSE_MEMBER = f"{PACKAGE}-{VERSION}.dist-info/LICENSE"
# name in models/thirdparty -> (member of the wheel, sha256, size in bytes)
FILES = {
    "face_detection_short_range.tflite": (
        "mediapipe/modules/face_detection/face_detection_short_range.tflite",
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
        229_714,
    ),
    "face_landmark.tflite": (
        "mediapipe/modules/face_landmark/face_landmark.tflite",
        "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
        1_242_398,
    ),
}
NOTICE = f"""Third-party models used by edge-monitor
=======================================

face_detection_short_range.tflite  MediaPipe BlazeFace short-range face detector
face_landmark.tflite               MediaPipe Face Mesh (468 landmarks and a face score)

Copyright The MediaPipe Authors (Google LLC). Licensed under the Apache License, Version 2.0
(LICENSE in this folder, taken from the wheel's dist-info). The files are unmodified copies of
the members {", ".join(m for m, _, _ in FILES.values())}
of the {PACKAGE}=={VERSION} wheel from PyPI (https://pypi.org/project/{PACKAGE}/{VERSION}/),
fetched and verified by scripts/fetch_models.py:

""" + "".join(f"  {name}  sha256 {sha}  {size} bytes\n" for name, (_, sha, size) in FILES.items())


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def problems(dest: Path = DEST) -> list[str]:
    """What is missing or wrong in ``dest`` (empty: everything is in place)."""
    out = []
    for name, (_, sha, size) in FILES.items():
        p = dest / name
        if not p.is_file():
            out.append(f"{p} is missing")
        elif p.stat().st_size != size or _sha256(p.read_bytes()) != sha:
            out.append(f"{p} does not have sha256 {sha[:8]}… and {size} bytes")
    for name in ("LICENSE", "NOTICE"):
        if not (dest / name).is_file():
            out.append(f"{dest / name} is missing")
    return out


def _write(path: Path, data: bytes) -> None:
    # Write beside the target and rename: an interrupted fetch never leaves a half file.
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def extract(wheel: Path, dest: Path = DEST) -> None:
    """Check and copy the models, the licence and a NOTICE from a mediapipe wheel into ``dest``.

    Raises:
        SystemExit: A member is missing or its sum does not match.
    """
    try:
        zf = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise SystemExit(f"fetch_models: {wheel} is not a wheel ({exc})") from None
    with zf:
        names = set(zf.namelist())
        blobs = {}
        for name, (member, sha, size) in FILES.items():
            if member not in names:
                raise SystemExit(f"fetch_models: {wheel} has no {member}; expected {PACKAGE}=={VERSION}")
            data = zf.read(member)
            if len(data) != size or _sha256(data) != sha:
                raise SystemExit(
                    f"fetch_models: {member} in {wheel.name} has sha256 {_sha256(data)} ({len(data)} bytes);"
                    f" expected {sha} ({size} bytes). Refusing to install it"
                )
            blobs[name] = data
        if LICENSE_MEMBER not in names:
            raise SystemExit(f"fetch_models: {wheel} has no {LICENSE_MEMBER}")
        blobs["LICENSE"] = zf.read(LICENSE_MEMBER)
    blobs["NOTICE"] = NOTICE.encode()
    dest.mkdir(parents=True, exist_ok=True)
    for name, data in blobs.items():
        _write(dest / name, data)


def _pip_env() -> dict[str, str]:
    # Under pip's build isolation (the setup.py hook) PYTHONPATH points at a site that hides the
    # interpreter's own site-packages, where pip lives; the nested pip needs them back.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONNOUSERSITE")}
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    return env


def pip_download(tool: str, requirement: str, tmp: Path, *options: str) -> Path:
    """One wheel, ``requirement`` (``name==version``) by pinned version through pip (pip's cache
    avoids re-downloads), into ``tmp``; ``tool`` prefixes the messages.

    Raises:
        SystemExit: pip failed or left no wheel (the message says what to do).
    """
    cmd = [sys.executable, "-m", "pip", "download", requirement, "--no-deps", *options, "-d", str(tmp)]
    print(f"{tool}: {' '.join(cmd[2:])}", file=sys.stderr)
    done = subprocess.run(cmd, env=_pip_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        tail = " | ".join(done.stdout.strip().splitlines()[-3:])
        raise SystemExit(
            f"{tool}: pip could not download {requirement} (exit {done.returncode}: {tail});"
            " check the connection to PyPI, or pass a downloaded wheel with --wheel"
        )
    name, version = requirement.split("==")
    wheels = sorted(tmp.glob(f"{name}-{version}-*.whl"))
    if not wheels:
        raise SystemExit(f"{tool}: pip reported success but left no {name} wheel in {tmp}")
    return wheels[0]


def download(tmp: Path) -> Path:
    """The mediapipe wheel for the Pi's Python (3.11); the model files in it are platform-independent."""
    options = ("--python-version", "3.11", "--platform", "manylinux2014_x86_64", "--only-binary=:all:")
    return pip_download("fetch_models", f"{PACKAGE}=={VERSION}", tmp, *options)


def extract_fetched(
    wheel: Path | None, fetch: Callable[[Path], Path], extract_to: Callable[[Path], None]
) -> None:
    """``extract_to`` the given ``wheel``, or else the one ``fetch`` downloads into a temporary folder."""
    if wheel is not None:
        extract_to(wheel)
        return
    with tempfile.TemporaryDirectory(prefix="edge-monitor-fetch-") as tmp:
        extract_to(fetch(Path(tmp)))


def ensure(dest: Path = DEST, wheel: Path | None = None, quiet: bool = False) -> None:
    """Make ``dest`` hold both models, the licence and the NOTICE; nothing is done when it does."""
    if not problems(dest):
        if not quiet:
            print(f"fetch_models: third-party models in place in {dest}", file=sys.stderr)
        return
    extract_fetched(wheel, download, lambda w: extract(w, dest))
    left = problems(dest)
    if left:
        raise SystemExit(f"fetch_models: still wrong after fetching: {'; '.join(left)}")
    print(f"fetch_models: wrote {', '.join(FILES)}, LICENSE and NOTICE to {dest}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Command line: fetch (default), ``--check`` or ``--wheel``."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dest", type=Path, default=DEST, help=f"target folder (default {DEST})")
    p.add_argument("--wheel", type=Path, help="extract from this mediapipe wheel instead of downloading")
    p.add_argument("--check", action="store_true", help="only verify; exit 1 when missing or wrong")
    p.add_argument("--quiet", action="store_true", help="say nothing when everything is in place")
    args = p.parse_args(argv)
    if args.check:
        left = problems(args.dest)
        for line in left:
            print(f"fetch_models: {line}", file=sys.stderr)
        return 1 if left else 0
    ensure(args.dest, args.wheel, args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
