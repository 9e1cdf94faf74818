"""deploy/: the systemd unit lints clean and is hardened; install.sh plans every step, changing nothing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from tests.conftest import REPO

DEPLOY = REPO / "deploy"
UNIT = DEPLOY / "edge-monitor.service"
INSTALL = DEPLOY / "install.sh"
EXEC_START_BINARY = "/opt/edge-monitor/venv/bin/edge-monitor"
SYSTEM_UNIT_DIRS = (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system"))
NOBODY = 65534
CI = os.environ.get("CI") == "true"


def require_tool(name: str, package: str) -> str:
    """The tool's path; skipped with the reason when absent, a failure under CI=true."""
    path = shutil.which(name)
    if path is None:
        msg = f"{name} is not installed (apt-get install {package})"
        if CI:
            pytest.fail(f"CI: {msg}")
        pytest.skip(msg)
    return path


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """Sections → key → every value in order (unit files repeat keys such as DeviceAllow=)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"not a unit file line: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


@pytest.fixture(scope="module")
def unit() -> dict[str, dict[str, list[str]]]:
    return parse_unit(UNIT.read_text(encoding="utf-8"))


def one(unit: dict, key: str, section: str = "Service") -> str:
    values = unit[section].get(key)
    assert values, f"[{section}] {key}= is missing"
    assert len(values) == 1, f"[{section}] {key}= is set {len(values)} times: {values}"
    return values[0]


# --- systemd-analyze ---------------------------------------------------------------------------


def verify_in_root(tmp_path: Path, unit_text: str, *, stub: bool = True) -> subprocess.CompletedProcess:
    """`systemd-analyze verify --root` on the unit in a temporary root.

    verify warns when ExecStart= does not exist, so the root holds a stub executable at the unit's
    path and a copy of the system's units (sysinit.target, modprobe@.service, …) the unit refers to.
    """
    analyze = require_tool("systemd-analyze", "systemd")
    system_units = next((d for d in SYSTEM_UNIT_DIRS if (d / "sysinit.target").exists()), None)
    if system_units is None:
        pytest.skip("no system unit directory with sysinit.target")
    root = tmp_path / "root"
    shutil.copytree(system_units, root / "usr/lib/systemd/system", symlinks=True)
    if stub:
        exe = root / EXEC_START_BINARY.lstrip("/")
        exe.parent.mkdir(parents=True)
        exe.write_text("#!/bin/sh\nexit 0\n")
        exe.chmod(0o755)
    dest = root / "etc/systemd/system/edge-monitor.service"
    dest.parent.mkdir(parents=True)
    dest.write_text(unit_text, encoding="utf-8")
    return subprocess.run(
        [analyze, "verify", f"--root={root}", "edge-monitor.service"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_unit_verifies_without_any_output(tmp_path):
    text = UNIT.read_text(encoding="utf-8")
    r = verify_in_root(tmp_path, text)
    assert (tmp_path / "root/etc/systemd/system/edge-monitor.service").read_text(encoding="utf-8") == text
    assert r.stdout + r.stderr == "", f"systemd-analyze verify printed:\n{r.stdout}{r.stderr}"
    assert r.returncode == 0


def test_verify_in_root_is_not_vacuous(tmp_path):
    # The same check does see a bad key and a missing ExecStart= binary inside the root.
    bad = UNIT.read_text(encoding="utf-8").replace("UMask=0077", "UMask=0077\nNoSuchKey=1")
    r = verify_in_root(tmp_path / "a", bad)
    assert "NoSuchKey" in r.stdout + r.stderr
    r = verify_in_root(tmp_path / "b", UNIT.read_text(encoding="utf-8"), stub=False)
    assert EXEC_START_BINARY in r.stdout + r.stderr


def test_unit_exposure_is_at_most_1():
    analyze = require_tool("systemd-analyze", "systemd")
    version = subprocess.run([analyze, "--version"], capture_output=True, text=True).stdout
    m = re.match(r"systemd (\d+)", version)
    if not m or int(m.group(1)) < 250:
        pytest.skip(f"systemd-analyze security --offline needs systemd >= 250, have: {version[:40]!r}")
    r = subprocess.run(
        [analyze, "security", "--offline=true", str(UNIT)], capture_output=True, text=True, timeout=60
    )
    m = re.search(r"Overall exposure level for edge-monitor\.service: (\d+\.\d+)", r.stdout)
    assert m, f"no exposure level in:\n{r.stdout[-500:]}{r.stderr}"
    assert float(m.group(1)) <= 1.0, f"exposure {m.group(1)} (docs/service.md says 0.6):\n{r.stdout}"


# --- the unit's content ------------------------------------------------------------------------


def test_unit_runs_the_daemon_as_a_notify_service_with_a_watchdog(unit):
    assert one(unit, "Type") == "notify"
    assert one(unit, "NotifyAccess") == "main"
    watchdog = one(unit, "WatchdogSec")
    assert re.fullmatch(r"\d+s?", watchdog) and 4 <= int(watchdog.rstrip("s")) <= 60
    assert one(unit, "Restart") == "on-failure"
    restart_s = int(one(unit, "RestartSec").rstrip("s"))
    burst, interval_s = (
        int(one(unit, "StartLimitBurst", "Unit")),
        int(one(unit, "StartLimitIntervalSec", "Unit")),
    )
    # A crash loop reaches the start limit (the unit then stays failed) instead of restarting forever.
    assert restart_s > 0 and burst >= 2 and burst * restart_s < interval_s
    doc = (REPO / "docs" / "service.md").read_text(encoding="utf-8")
    assert f"`RestartSec={restart_s}s`, at most {burst} starts in {interval_s} s" in doc
    assert int(one(unit, "TimeoutStopSec").rstrip("s")) <= 10
    assert one(unit, "ExecStart").split() == [
        EXEC_START_BINARY,
        "--picamera",
        "--config",
        "/etc/edge-monitor/config.yaml",
        "--events",
        "/var/lib/edge-monitor/events.jsonl",
    ]
    assert one(unit, "WantedBy", "Install") == "multi-user.target"


def test_unit_does_not_restart_on_errors_a_restart_cannot_fix(unit):
    """Every usage, configuration and model exit code stops the restarts; a camera error (24) does not."""
    from edge_monitor import errors

    prevented = {int(code) for code in one(unit, "RestartPreventExitStatus").split()}
    fixed_only_by_hand = {
        cls.exit_code
        for cls in vars(errors).values()
        if isinstance(cls, type)
        and issubclass(cls, (errors.UsageError, errors.ConfigError, errors.ModelError))
    } | {errors.PicameraUnavailableError.exit_code}
    assert fixed_only_by_hand <= prevented, sorted(fixed_only_by_hand - prevented)
    assert errors.CameraError.exit_code not in prevented and errors.SourceError.exit_code not in prevented
    doc = (REPO / "docs" / "service.md").read_text(encoding="utf-8")
    assert f"RestartPreventExitStatus={one(unit, 'RestartPreventExitStatus')}" in doc


def test_unit_directories_user_and_groups(unit):
    assert one(unit, "StateDirectory") == "edge-monitor"
    assert one(unit, "ConfigurationDirectory") == "edge-monitor"
    assert one(unit, "User") == "edge-monitor"
    assert "DynamicUser" not in unit["Service"]
    assert {"video", "gpio"} <= set(one(unit, "SupplementaryGroups").split())
    # lgpio creates its notification FIFO in the working directory: it must be writable.
    assert one(unit, "RuntimeDirectory") == "edge-monitor"
    assert one(unit, "WorkingDirectory") == "/run/edge-monitor"
    assert one(unit, "UMask") == "0077"


def test_unit_hardening(unit):
    expected = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes",
        "ProtectClock": "yes",
        "ProtectHostname": "yes",
        "RestrictNamespaces": "yes",
        "RestrictRealtime": "yes",
        "RestrictSUIDSGID": "yes",
        "LockPersonality": "yes",
        "MemoryDenyWriteExecute": "yes",
        "PrivateNetwork": "yes",
        "RestrictAddressFamilies": "AF_UNIX",
        "SystemCallArchitectures": "native",
        "CapabilityBoundingSet": "",
        "AmbientCapabilities": "",
        "DevicePolicy": "closed",
    }
    assert {k: one(unit, k) for k in expected} == expected
    assert unit["Service"]["SystemCallFilter"][0] == "@system-service"
    allowed = {v.split()[0] for v in unit["Service"]["DeviceAllow"]}
    assert allowed == {"char-video4linux", "char-media", "char-dma_heap", "char-gpiochip", "char-*gpiomem"}


def test_native_stack_runs_with_write_xor_execute(emotion_model_path):
    """LiteRT (with XNNPACK) and OpenCV work without W+X memory, as MemoryDenyWriteExecute=yes needs.

    Uses the kernel's PR_SET_MDWE (Linux >= 6.3), which refuses the same mappings.
    """
    code = textwrap.dedent(
        """
        import ctypes, mmap, sys
        if ctypes.CDLL(None, use_errno=True).prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, REFUSE_EXEC_GAIN
            print("NO_MDWE"); sys.exit(0)
        try:
            mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
            sys.exit("W+X mapping was allowed: PR_SET_MDWE is not in force")
        except OSError:
            pass
        import cv2, numpy as np
        from edge_monitor.inference import load_classifier
        clf = load_classifier(sys.argv[1])
        probs = clf.predict_pixels(np.full((48, 48), 128, np.uint8))
        assert abs(float(probs.sum()) - 1.0) < 0.05, probs
        cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
        cascade.detectMultiScale(np.zeros((240, 320), np.uint8), 1.1, 5)
        print("OK")
        """
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(emotion_model_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    if "NO_MDWE" in r.stdout:
        pytest.skip("the kernel has no PR_SET_MDWE (Linux < 6.3)")
    assert r.returncode == 0 and "OK" in r.stdout, r.stdout + r.stderr


# --- install.sh --------------------------------------------------------------------------------


def test_fleet_network_drop_in_opens_the_network_and_nothing_else():
    dropin = parse_unit((REPO / "deploy" / "fleet-network.conf").read_text(encoding="utf-8"))
    assert set(dropin) == {"Service"}
    assert dropin["Service"] == {
        "PrivateNetwork": ["no"],
        "RestrictAddressFamilies": ["AF_UNIX AF_INET AF_INET6"],
        "IPAddressDeny": [""],
    }
    unit = parse_unit(UNIT.read_text(encoding="utf-8"))  # the unit itself stays without network
    assert one(unit, "PrivateNetwork") == "yes" and one(unit, "IPAddressDeny") == "any"


def test_install_script_parses():
    r = subprocess.run(["bash", "-n", str(INSTALL)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


SHELL_SCRIPTS = sorted([*(REPO / "deploy").glob("*.sh"), *(REPO / "scripts").glob("*.sh")])


def test_every_shell_script_passes_shellcheck():
    """The installer, the arm64 target, their sourced messages.sh (followed with -x) and the rest."""
    shellcheck = require_tool("shellcheck", "shellcheck")
    assert INSTALL in SHELL_SCRIPTS and REPO / "deploy" / "messages.sh" in SHELL_SCRIPTS
    r = subprocess.run([shellcheck, "-x", *map(str, SHELL_SCRIPTS)], capture_output=True, text=True, cwd="/")
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr


def run_install(*args: str, as_nobody: bool = False) -> subprocess.CompletedProcess:
    cmd = ["bash", str(INSTALL), *args]
    if as_nobody:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("setpriv (util-linux) is needed to run the dry run as nobody")
        cmd = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd="/")


def dry_run_users() -> list:
    if os.geteuid() == 0:
        return [pytest.param(False, id="root"), pytest.param(True, id="nobody")]
    return [pytest.param(False, id="user")]


@pytest.fixture
def test_prefix():
    """A prefix the dry run must not create (under /opt: /tmp and /home prefixes are refused)."""
    prefix = Path(f"/opt/edge-monitor-test-{uuid.uuid4().hex[:8]}")
    yield prefix
    if prefix.exists():
        shutil.rmtree(prefix)


@pytest.mark.parametrize("as_nobody", dry_run_users())
def test_dry_run_plans_every_step_and_changes_nothing(as_nobody, test_prefix):
    if as_nobody:
        probe = run_install("--help", as_nobody=True)
        if probe.returncode != 0:
            pytest.skip(f"nobody cannot read the checkout at {REPO}: {probe.stderr.strip()[:200]}")
    r = run_install("--dry-run", "--prefix", str(test_prefix), "--source", str(REPO), as_nobody=as_nobody)
    out = r.stdout
    assert r.returncode == 0, out + r.stderr
    assert all(line.startswith("edge-monitor-install: ") for line in out.splitlines()), out
    for step in ("preflight", "apt packages", "user and groups", "venv", "pip", "config", "systemd unit"):
        assert re.search(rf"== step \d+: {step}", out), f"no {step} step:\n{out}"
    assert re.search(r"== step \d+: systemctl", out)
    venv = f"{test_prefix}/venv"
    assert f"would run: /usr/bin/python3 -m venv --system-site-packages {venv}" in out
    assert re.search(
        rf"would run: env .*{venv}/bin/python -m pip install .*-c {test_prefix}/constraints.txt", out
    )
    assert "useradd --system" in out or "user edge-monitor exists" in out
    assert "--print-config > /etc/edge-monitor/config.yaml" in out or "config exists" in out
    assert "/etc/systemd/system/edge-monitor.service" in out
    assert "would run: systemctl enable --now edge-monitor" in out
    assert "install /etc/systemd/system/edge-monitor.service.d/fleet-network.conf only if it is set" in out
    assert re.search(r"pip install .*\[fleet\]", out), "the Pi gets the fleet extra (paho-mqtt)"
    assert "planned, none made" in out
    assert "edge-monitor-install: + " not in out, "a dry run executed a command"
    assert not test_prefix.exists()


def test_install_without_root_and_without_dry_run_refuses():
    if os.geteuid() == 0:
        r = run_install("--prefix", "/opt/edge-monitor-never", as_nobody=True)
    else:
        r = run_install("--prefix", "/opt/edge-monitor-never")
    assert r.returncode == 1
    assert "run as root" in r.stderr
    assert not Path("/opt/edge-monitor-never").exists()


@pytest.mark.parametrize(
    "prefix",
    [
        "/home/pi/edge-monitor",
        "/tmp/edge-monitor",
        "relative/dir",
        "//",
        "/opt/../home/pi",
        "/opt/./../tmp/x",
        "/opt/..",
    ],
)
def test_prefixes_the_service_cannot_see_are_refused(prefix):
    r = run_install("--dry-run", "--prefix", prefix)
    assert r.returncode == 1 and "--prefix" in r.stderr, r.stdout + r.stderr


def test_dry_run_uninstall_lists_the_removals_and_removes_nothing(test_prefix):
    made = False
    if os.geteuid() == 0:
        (test_prefix / "venv/bin").mkdir(parents=True)
        (test_prefix / ".install-stamp").write_text("x\n")
        made = True
    r = run_install("--dry-run", "--uninstall", "--prefix", str(test_prefix))
    out = r.stdout
    assert r.returncode == 0, out + r.stderr
    assert re.search(r"== step \d+: systemctl: stop and disable edge-monitor", out)
    assert re.search(r"== step \d+: systemd unit: remove /etc/systemd/system/edge-monitor.service", out)
    assert re.search(rf"== step \d+: venv: remove {test_prefix}/venv", out)
    assert "kept: config /etc/edge-monitor, events /var/lib/edge-monitor, user edge-monitor" in out
    if made:
        assert f"would run: rm -rf -- {test_prefix}/venv" in out
        assert f"would run: rmdir -- {test_prefix}" in out
        assert (test_prefix / "venv/bin").is_dir() and (test_prefix / ".install-stamp").is_file()
    else:
        assert "venv already absent" in out
    assert "edge-monitor-install: + " not in out

    r = run_install("--dry-run", "--uninstall", "--purge", "--prefix", str(test_prefix))
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"== step \d+: purge: config, events and user", r.stdout)
