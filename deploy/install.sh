#!/usr/bin/env bash
# Installs edge-monitor as a systemd service on 64-bit Raspberry Pi OS (Bookworm or Trixie).
#
#   sudo deploy/install.sh                       install, or update an installation
#   deploy/install.sh --dry-run                  print every action, change nothing (no root needed)
#   sudo deploy/install.sh --uninstall           remove the service and the venv; keep config, events, user
#   sudo deploy/install.sh --uninstall --purge   also remove the config, the events and the user
#   deploy/install.sh --print-constraints        print the pip constraints for this system (no root needed)
#
# Options: --prefix DIR (default /opt/edge-monitor), --source DIR|WHEEL (default: this checkout).
# Running it twice changes nothing the second time, and says so. See docs/service.md.
set -euo pipefail
umask 022

readonly PROG=edge-monitor-install
readonly SERVICE=edge-monitor
readonly SVC_USER=edge-monitor
readonly SVC_GROUPS=(video gpio)
readonly DEFAULT_PREFIX=/opt/edge-monitor
readonly CONFIG_DIR=/etc/edge-monitor
readonly CONFIG_FILE=$CONFIG_DIR/config.yaml
readonly STATE_DIR=/var/lib/edge-monitor
readonly UNIT_FILE=/etc/systemd/system/$SERVICE.service
# Network for fleet telemetry, only while fleet.url is set in the config.
readonly FLEET_DROPIN=/etc/systemd/system/$SERVICE.service.d/fleet-network.conf
# Debian packages: the venv module, the Pi camera stack (built against apt's numpy), the GPIO
# library gpiozero uses by default, and sd_notify for Type=notify.
readonly APT_PACKAGES=(python3-venv python3-picamera2 python3-lgpio python3-systemd)
# The venv is built on the Debian interpreter: apt's packages are built for it (not for a pyenv/conda one).
readonly PYTHON=/usr/bin/python3

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE

DRY_RUN=0
PRINT_CONSTRAINTS=0
UNINSTALL=0
PURGE=0
PREFIX=$DEFAULT_PREFIX
SOURCE=""
CHANGES=()
STEP=0
TMP=""

msg_prefix() { printf '%s:' "$PROG"; }
# shellcheck source-path=SCRIPTDIR source=messages.sh
. "$HERE/messages.sh"
step() {
  STEP=$((STEP + 1))
  log "== step $STEP: $*"
}
changed() { CHANGES+=("$*"); }
# The command line as a shell would need it: words with special characters are quoted.
quoted() {
  local word out=() IFS=' '
  for word in "$@"; do
    if [[ $word =~ ^[A-Za-z0-9_./,:=@+%-]+$ ]]; then out+=("$word"); else out+=("${word@Q}"); fi
  done
  printf '%s' "${out[*]}"
}

# Runs a command that changes the system; under --dry-run only prints it.
run() {
  if ((DRY_RUN)); then
    log "[dry-run] would run: $(quoted "$@")"
  else
    log "+ $(quoted "$@")"
    "$@"
  fi
}

usage() {
  cat <<EOF
usage: $0 [--dry-run] [--prefix DIR] [--source DIR|WHEEL] [--uninstall [--purge]] [--print-constraints]

Installs edge-monitor as the systemd service '$SERVICE' on 64-bit Raspberry Pi OS.

  --dry-run        print every action and change nothing (works without root, on any machine)
  --prefix DIR     where the venv lives (default $DEFAULT_PREFIX)
  --source PATH    the checkout or wheel to install (default: the checkout this script is in)
  --uninstall      stop and disable the service, remove the unit and the venv; keep the
                   config ($CONFIG_DIR), the events ($STATE_DIR) and the user '$SVC_USER'
  --purge          with --uninstall: also remove the config, the events and the user
  --print-constraints
                   print the pip constraints this system gets and exit (scripts/test-arm64.sh uses them)
  -h, --help       this help
EOF
}

parse_args() {
  while (($#)); do
    case $1 in
      --dry-run) DRY_RUN=1 ;;
      --uninstall) UNINSTALL=1 ;;
      --purge) PURGE=1 ;;
      --print-constraints) PRINT_CONSTRAINTS=1 ;;
      --prefix)
        (($# >= 2)) || die "--prefix needs a directory"
        PREFIX=$2
        shift
        ;;
      --prefix=*) PREFIX=${1#--prefix=} ;;
      --source)
        (($# >= 2)) || die "--source needs a directory or a wheel"
        SOURCE=$2
        shift
        ;;
      --source=*) SOURCE=${1#--source=} ;;
      -h | --help)
        usage
        exit 0
        ;;
      *) die "unknown option '$1' (see --help)" ;;
    esac
    shift
  done
  ((PURGE)) && UNINSTALL=1
  [[ $PREFIX == /* ]] || die "--prefix must be an absolute path, got '$PREFIX'"
  [[ $PREFIX =~ ^[A-Za-z0-9._/-]+$ ]] || die "--prefix may only hold letters, digits and . _ - /, got '$PREFIX'"
  # Check the path the service will see: '//', '.', '..' and symlinks resolved (/opt/../home/pi is /home/pi).
  PREFIX=$(realpath -m -- "$PREFIX") || die "--prefix $PREFIX cannot be resolved"
  [[ $PREFIX != / ]] || die "--prefix / is not allowed"
  case $PREFIX/ in
    /home/* | /root/* | /run/user/*)
      die "--prefix $PREFIX is hidden from the service by ProtectHome=yes; use e.g. $DEFAULT_PREFIX" ;;
    /tmp/* | /var/tmp/*)
      die "--prefix $PREFIX is hidden from the service by PrivateTmp=yes; use e.g. $DEFAULT_PREFIX" ;;
  esac
  if [[ -z $SOURCE ]]; then
    SOURCE=$(cd "$HERE/.." && pwd)
  fi
  VENV=$PREFIX/venv
  STAMP=$PREFIX/.install-stamp
  CONSTRAINTS=$PREFIX/constraints.txt
}

cleanup() {
  if [[ -n $TMP && -d $TMP ]]; then
    rm -rf -- "$TMP"
  fi
}

tmpdir() {
  if [[ -z $TMP ]]; then
    TMP=$(mktemp -d)
    trap cleanup EXIT
  fi
}

is_installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == "install ok installed" ]]; }

apt_candidate() {
  LC_ALL=C apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}'
}

systemd_running() { [[ -d /run/systemd/system ]]; }

# Installs SRC as DEST (mode, owner, group) unless DEST already has that content and mode.
install_file() {
  local src=$1 dest=$2 mode=$3 owner=${4:-root} group=${5:-root} what=$6
  if [[ -f $dest ]] && cmp -s "$src" "$dest" && [[ $(stat -c %a "$dest") == "${mode#0}" ]]; then
    log "$what unchanged: $dest"
    return 0
  fi
  run install -D -m "$mode" -o "$owner" -g "$group" "$src" "$dest"
  changed "$what: $dest"
}

# ---------------------------------------------------------------------------------------------
# install

preflight() {
  step "preflight"
  if ((DRY_RUN)); then
    log "dry run: nothing will be changed"
  elif ((EUID != 0)); then
    die "run as root (sudo $0 $*), or add --dry-run to see what it would do"
  fi

  local id="" codename="" pretty="unknown OS"
  if [[ -r /etc/os-release ]]; then
    # shellcheck disable=SC1091
    id=$(. /etc/os-release && printf '%s' "${ID:-}")
    # shellcheck disable=SC1091
    codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
    # shellcheck disable=SC1091
    pretty=$(. /etc/os-release && printf '%s' "${PRETTY_NAME:-$id}")
  fi
  CODENAME=$codename
  local arch
  arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
  log "system: $pretty ($arch), codename '${codename:-?}'"
  case $arch in
    arm64 | aarch64) ;;
    armhf | armel | armv7l | armv6l)
      die "32-bit OS ($arch): ai-edge-litert has no 32-bit ARM wheels; install 64-bit Raspberry Pi OS" ;;
    *)
      if ((DRY_RUN)); then
        warn "not a 64-bit Raspberry Pi OS ($arch); going on because of --dry-run"
      else
        warn "not a 64-bit Raspberry Pi OS ($arch); the service needs the Pi camera (picamera2)"
      fi
      ;;
  esac
  case $codename in
    bookworm | trixie) ;;
    *) warn "untested OS release '${codename:-unknown}'; Raspberry Pi OS Bookworm and Trixie are supported" ;;
  esac

  [[ -x $PYTHON ]] || die "$PYTHON is missing; install it with: apt-get install python3"
  PYVER=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  log "python: $PYTHON $PYVER"
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "python3 $PYVER is too old; edge-monitor needs Python >= 3.11 (Bookworm 3.11, Trixie 3.13)"

  if [[ -d $SOURCE ]]; then
    [[ -f $SOURCE/pyproject.toml ]] || die "--source $SOURCE is not an edge-monitor checkout (no pyproject.toml)"
    SOURCE=$(cd "$SOURCE" && pwd)
  elif [[ -f $SOURCE && $SOURCE == *.whl ]]; then
    SOURCE=$(cd "$(dirname "$SOURCE")" && pwd)/$(basename "$SOURCE")
  else
    die "--source must be an edge-monitor checkout or a .whl file, got '$SOURCE'"
  fi
  [[ -f $HERE/$SERVICE.service ]] || die "the unit file $HERE/$SERVICE.service is missing"
  log "source: $SOURCE"
  log "prefix: $PREFIX (venv $VENV)"
}

step_apt() {
  step "apt packages: ${APT_PACKAGES[*]}"
  if ! command -v dpkg-query >/dev/null; then
    ((DRY_RUN)) || die "dpkg-query is missing: this installer is for Raspberry Pi OS (Debian)"
    warn "no dpkg on this machine; would install: ${APT_PACKAGES[*]}"
    return 0
  fi
  local pkg missing=() present=()
  for pkg in "${APT_PACKAGES[@]}"; do
    if is_installed "$pkg"; then present+=("$pkg"); else missing+=("$pkg"); fi
  done
  ((${#present[@]} == 0)) || log "already installed: ${present[*]}"
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  log "to install: ${missing[*]}"
  run env DEBIAN_FRONTEND=noninteractive apt-get update -q
  local unavailable=()
  for pkg in "${missing[@]}"; do
    case $(apt_candidate "$pkg") in
      "" | "(none)") unavailable+=("$pkg") ;;
    esac
  done
  if ((${#unavailable[@]})); then
    local msg="not in this machine's apt sources: ${unavailable[*]} (they come from the Raspberry Pi OS archive)"
    ((DRY_RUN)) || die "$msg; this installer is for Raspberry Pi OS"
    warn "$msg"
  fi
  # --no-install-recommends keeps picamera2's GUI preview stack (Qt, OpenGL) off a headless Pi.
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  changed "apt: installed ${missing[*]}"
}

# The pip constraints that keep apt's picamera2 working: on Bookworm it is built against numpy 1.x,
# and opencv-python-headless >= 4.12 requires numpy >= 2 (4.11.0.86 is the last for numpy 1.x).
write_constraints() {
  local numpy_major=""
  numpy_major=$("$PYTHON" -c 'import numpy; print(numpy.__version__.split(".")[0])' 2>/dev/null || true)
  if [[ $CODENAME == bookworm || $numpy_major == 1 ]]; then
    log "apt's numpy is 1.x (${CODENAME:-this release}): constraints numpy<2, opencv-python-headless<4.12"
    printf '%s\n' "# apt's python3-picamera2 is built against numpy 1.x" "numpy<2" \
      "# opencv-python-headless 4.12+ requires numpy>=2; 5.x has no CascadeClassifier" \
      "opencv-python-headless<4.12" >"$1"
  else
    log "apt's numpy is ${numpy_major:-not installed yet}.x: constraints opencv-python-headless<5"
    printf '%s\n' "# opencv-python-headless 5.x has no CascadeClassifier" "opencv-python-headless<5" >"$1"
  fi
}

step_user() {
  step "user and groups: $SVC_USER in ${SVC_GROUPS[*]}"
  local g
  for g in "${SVC_GROUPS[@]}"; do
    if getent group "$g" >/dev/null; then
      log "group $g exists"
    else
      run groupadd --system "$g"
      changed "group $g created"
    fi
  done
  if getent passwd "$SVC_USER" >/dev/null; then
    log "user $SVC_USER exists"
  else
    run useradd --system --user-group --no-create-home --home-dir "$STATE_DIR" \
      --shell /usr/sbin/nologin --comment "edge-monitor service" "$SVC_USER"
    changed "user $SVC_USER created"
  fi
  local have=" "
  have+=$(id -nG "$SVC_USER" 2>/dev/null || true)
  have+=" "
  local need=()
  for g in "${SVC_GROUPS[@]}"; do
    [[ $have == *" $g "* ]] || need+=("$g")
  done
  if ((${#need[@]})); then
    local joined
    joined=$(IFS=,; printf '%s' "${need[*]}")
    run usermod --append --groups "$joined" "$SVC_USER"
    changed "user $SVC_USER added to ${need[*]}"
  else
    log "user $SVC_USER is in ${SVC_GROUPS[*]}"
  fi
}

venv_python_version() {
  "$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true
}

step_venv() {
  step "venv: $VENV (--system-site-packages, so apt's picamera2, lgpio and systemd are visible)"
  local have
  have=$(venv_python_version)
  if [[ -n $have && $have == "$PYVER" ]] &&
    grep -qsx "home = ${PYTHON%/*}" "$VENV/pyvenv.cfg" &&
    grep -qsx 'include-system-site-packages = true' "$VENV/pyvenv.cfg"; then
    log "venv up to date (Python $have from ${PYTHON%/*})"
    return 0
  fi
  if [[ -e $VENV ]]; then
    log "venv is not a $PYTHON $PYVER venv with system site packages; recreating it"
    run rm -rf -- "$VENV" "$STAMP"
  fi
  run install -d -m 0755 "$PREFIX"
  run "$PYTHON" -m venv --system-site-packages "$VENV"
  changed "venv created: $VENV"
}

source_digest() {
  if [[ -f $SOURCE ]]; then
    sha256sum "$SOURCE" | cut -d' ' -f1
  else
    (
      cd "$SOURCE"
      find pyproject.toml edge_monitor models -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 2>/dev/null |
        LC_ALL=C sort -z | xargs -0 sha256sum
    ) | sha256sum | cut -d' ' -f1
  fi
}

step_package() {
  step "pip: edge-monitor from $SOURCE into $VENV"
  tmpdir
  write_constraints "$TMP/constraints.txt"
  install_file "$TMP/constraints.txt" "$CONSTRAINTS" 0644 root root "pip constraints"
  local stamp
  stamp="source=$SOURCE sha256=$(source_digest) constraints=$(sha256sum <"$TMP/constraints.txt" | cut -d' ' -f1) python=$PYVER"
  if [[ -x $VENV/bin/edge-monitor && -f $STAMP && $(<"$STAMP") == "$stamp" ]] &&
    "$VENV/bin/edge-monitor" --version >/dev/null 2>&1; then
    log "package unchanged: $("$VENV/bin/edge-monitor" --version)"
    check_imports
    return 0
  fi
  local target=$SOURCE
  if [[ -d $SOURCE ]]; then
    # Build from a clean copy: pip builds in-tree and would leave root-owned files in the checkout.
    target=$TMP/src
    run mkdir -p "$target"
    if ((DRY_RUN)); then
      log "[dry-run] would copy $SOURCE (without .git, venvs and build outputs) to $target"
    else
      log "+ copy $SOURCE to $target"
      tar -C "$SOURCE" --exclude=./.git --exclude='./.venv*' --exclude=./build --exclude=./dist \
        --exclude='*.egg-info' --exclude='__pycache__' --exclude=./.cache --exclude=./.pytest_cache \
        --exclude=./.ruff_cache --exclude=./runs --exclude=./out --exclude=./reports -cf - . |
        tar -C "$target" -xf -
    fi
    # The third-party face models (MediaPipe's wheel on PyPI, checked by sha256); the package build
    # would fetch them too, this makes the step visible. Nothing is downloaded at run time.
    run "$VENV/bin/python" "$target/scripts/fetch_models.py"
  fi
  # The fleet extra (paho-mqtt) is small and pure Python; fleet.url in the config turns it on.
  run env PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
    "$VENV/bin/python" -m pip install --progress-bar off -c "$CONSTRAINTS" "${target}[fleet]"
  changed "package installed into $VENV"
  check_imports
  # The stamp is written last: a failed install or import check is retried on the next run.
  if ((DRY_RUN)); then
    log "[dry-run] would write $STAMP"
  else
    printf '%s\n' "$stamp" >"$STAMP"
    log "installed: $("$VENV/bin/edge-monitor" --version)"
  fi
}

# picamera2 comes from apt and must import with the venv's numpy (the Bookworm numpy 2 trap).
check_imports() {
  local imports="import picamera2, numpy, cv2, ai_edge_litert"
  local models="from edge_monitor.paths import thirdparty_model_path as p; p('', 'face_detection_short_range.tflite'); p('', 'face_landmark.tflite')"
  if ((DRY_RUN)); then
    log "[dry-run] would check: $VENV/bin/python -c '$imports'"
    log "[dry-run] would check the third-party face models are installed: $VENV/bin/python -c \"$models\""
  elif "$VENV/bin/python" -c "$imports" 2>"$TMP/import.err"; then
    log "imports work in the venv: ${imports#import }"
  else
    cat "$TMP/import.err" >&2
    die "the venv $VENV cannot import picamera2/numpy/cv2/LiteRT (numpy mismatch?); see above and docs/service.md"
  fi
  if ((!DRY_RUN)); then
    "$VENV/bin/python" -c "$models" 2>"$TMP/models.err" || {
      cat "$TMP/models.err" >&2
      die "the installed package lacks the third-party face models; install from a checkout (its build fetches them) or a wheel built from one"
    }
    log "third-party face models installed"
  fi
}

install_docs() {
  local doc
  doc=$(cd "$HERE/.." && pwd)/docs/service.md
  if [[ -f $doc ]]; then
    install_file "$doc" "$PREFIX/docs/service.md" 0644 root root "docs"
  fi
}

step_config() {
  step "config: $CONFIG_FILE (created only if absent)"
  if [[ -f $CONFIG_FILE ]]; then
    log "config exists, left as it is: $CONFIG_FILE"
  else
    tmpdir
    run install -d -m 0755 "$CONFIG_DIR"
    if ((DRY_RUN)); then
      log "[dry-run] would write the defaults: $VENV/bin/edge-monitor --print-config > $CONFIG_FILE"
    else
      "$VENV/bin/edge-monitor" --print-config >"$TMP/config.yaml"
    fi
    run install -m 0640 -o root -g "$SVC_USER" "$TMP/config.yaml" "$CONFIG_FILE"
    changed "config created: $CONFIG_FILE"
  fi
  run "$VENV/bin/edge-monitor" --config "$CONFIG_FILE" --validate-config ||
    die "$CONFIG_FILE is not valid for this version (see above); fix it and run the installer again"
}

step_unit() {
  step "systemd unit: $UNIT_FILE"
  tmpdir
  # The unit names /opt/edge-monitor; another --prefix is substituted.
  sed "s#$DEFAULT_PREFIX#$PREFIX#g" "$HERE/$SERVICE.service" >"$TMP/$SERVICE.service"
  local before=${#CHANGES[@]}
  install_file "$TMP/$SERVICE.service" "$UNIT_FILE" 0644 root root "unit"
  step_fleet_network
  UNIT_CHANGED=$((${#CHANGES[@]} > before))
  install_docs
  if ((!DRY_RUN)) && command -v systemd-analyze >/dev/null; then
    local out
    out=$(systemd-analyze verify "$UNIT_FILE" 2>&1 || true)
    [[ -z $out ]] || warn "systemd-analyze verify $UNIT_FILE says: $out"
  fi
}

# The unit has no network; fleet telemetry (fleet.url set in the config) gets it from a drop-in.
step_fleet_network() {
  local url=""
  if ((DRY_RUN)); then
    log "[dry-run] would read fleet.url from $CONFIG_FILE and install $FLEET_DROPIN only if it is set"
    return 0
  fi
  url=$("$VENV/bin/python" -c 'import sys; from edge_monitor.config import load_config
print(load_config(sys.argv[1]).fleet.url)' "$CONFIG_FILE")
  if [[ -n $url ]]; then
    log "fleet.url is $url: the service may use the network"
    install_file "$HERE/fleet-network.conf" "$FLEET_DROPIN" 0644 root root "fleet network drop-in"
  elif [[ -f $FLEET_DROPIN ]]; then
    run rm -f -- "$FLEET_DROPIN"
    changed "fleet network drop-in removed (fleet.url is empty)"
  else
    log "fleet.url is empty: the service has no network"
  fi
}

step_service() {
  step "systemctl: enable and start $SERVICE"
  if ! systemd_running; then
    if ((DRY_RUN)); then
      log "systemd is not running on this machine; on the Pi the following would run:"
    else
      log "systemd is not running (image build or chroot): enabling only; it starts at the next boot"
      if systemctl is-enabled --quiet "$SERVICE" 2>/dev/null; then
        log "$SERVICE already enabled"
      else
        run systemctl enable "$SERVICE"
        changed "service enabled"
      fi
      return 0
    fi
  fi
  if ((UNIT_CHANGED || DRY_RUN)); then
    run systemctl daemon-reload
  fi
  local enabled=0 active=0
  systemctl is-enabled --quiet "$SERVICE" 2>/dev/null && enabled=1
  systemctl is-active --quiet "$SERVICE" 2>/dev/null && active=1
  if ((!enabled || !active)); then
    run systemctl enable --now "$SERVICE"
    changed "service enabled and started"
  elif ((${#CHANGES[@]})); then
    run systemctl restart "$SERVICE"
    changed "service restarted"
  else
    log "$SERVICE is enabled and running"
  fi
  if ((!DRY_RUN)); then
    systemctl is-active --quiet "$SERVICE" ||
      die "$SERVICE did not start; see: journalctl -u $SERVICE -b --no-pager | tail -50"
  fi
}

do_install() {
  preflight "$@"
  step_apt
  step_user
  step_venv
  step_package
  step_config
  step_unit
  step_service
  step "done"
  log "events: $STATE_DIR/events.jsonl; logs: journalctl -u $SERVICE -f"
}

# ---------------------------------------------------------------------------------------------
# uninstall

do_uninstall() {
  local what=uninstall
  ((PURGE)) && what="uninstall --purge"
  step "preflight ($what)"
  if ((DRY_RUN)); then
    log "dry run: nothing will be changed"
  elif ((EUID != 0)); then
    die "run as root (sudo $0 --uninstall), or add --dry-run to see what it would do"
  fi

  step "systemctl: stop and disable $SERVICE"
  if [[ -f $UNIT_FILE ]]; then
    if systemd_running; then
      run systemctl disable --now "$SERVICE"
    else
      run systemctl disable "$SERVICE"
    fi
    changed "service stopped and disabled"
  else
    log "no unit at $UNIT_FILE: nothing to stop"
  fi

  step "systemd unit: remove $UNIT_FILE"
  if [[ -f $FLEET_DROPIN ]]; then
    run rm -rf -- "${FLEET_DROPIN%/*}"
  fi
  if [[ -f $UNIT_FILE ]]; then
    run rm -f -- "$UNIT_FILE"
    changed "unit removed"
    if systemd_running; then
      run systemctl daemon-reload
      run systemctl reset-failed "$SERVICE" || true
    fi
  else
    log "unit already absent"
  fi

  step "venv: remove $VENV and the other files in $PREFIX"
  local path removed=0 others=()
  if [[ -d $PREFIX ]]; then
    shopt -s nullglob dotglob
    for path in "$PREFIX"/*; do
      case $path in
        "$VENV" | "$PREFIX/docs" | "$CONSTRAINTS" | "$STAMP") ;;
        *) others+=("$path") ;;
      esac
    done
    shopt -u nullglob dotglob
  fi
  for path in "$VENV" "$PREFIX/docs" "$CONSTRAINTS" "$STAMP"; do
    if [[ -e $path ]]; then
      run rm -rf -- "$path"
      removed=1
    fi
  done
  if [[ -d $PREFIX ]]; then
    if ((${#others[@]} == 0)); then
      run rmdir -- "$PREFIX"
    else
      warn "$PREFIX holds other files (${others[*]}); left in place"
    fi
  fi
  if ((removed)); then changed "venv removed"; else log "venv already absent"; fi

  if ((PURGE)); then
    step "purge: config, events and user"
    for path in "$CONFIG_DIR" "$STATE_DIR"; do
      if [[ -e $path ]]; then
        run rm -rf -- "$path"
        changed "removed $path"
      else
        log "already absent: $path"
      fi
    done
    if getent passwd "$SVC_USER" >/dev/null; then
      run userdel "$SVC_USER"
      changed "user $SVC_USER removed"
    else
      log "user $SVC_USER already absent"
    fi
  else
    step "kept: config $CONFIG_DIR, events $STATE_DIR, user $SVC_USER (--purge removes them)"
  fi
  log "apt packages (${APT_PACKAGES[*]}) are left installed: other software may use them"
}

# The constraints write_constraints gives this system, on stdout (its log line goes to stderr).
print_constraints() {
  # shellcheck disable=SC1091
  CODENAME=$(. /etc/os-release 2>/dev/null && printf '%s' "${VERSION_CODENAME:-}") || CODENAME=""
  write_constraints /dev/fd/3 3>&1 >&2
}

main() {
  parse_args "$@"
  if ((PRINT_CONSTRAINTS)); then
    print_constraints
    return 0
  fi
  if ((UNINSTALL)); then
    do_uninstall
  else
    UNIT_CHANGED=0
    do_install "$@"
  fi
  if ((${#CHANGES[@]} == 0)); then
    log "nothing changed: everything was already in place"
  elif ((DRY_RUN)); then
    log "dry run: ${#CHANGES[@]} change(s) planned, none made"
  else
    log "${#CHANGES[@]} change(s):"
    local c
    for c in "${CHANGES[@]}"; do log "  - $c"; done
  fi
}

main "$@"
