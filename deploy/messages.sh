# shellcheck shell=bash
# log, warn and die for deploy/install.sh and scripts/test-arm64.sh, which source this file. Each
# defines msg_prefix first: it prints what starts every line (the program's name, the time).
log() { printf '%s %s\n' "$(msg_prefix)" "$*"; }
warn() { printf '%s warning: %s\n' "$(msg_prefix)" "$*" >&2; }
die() {
  printf '%s error: %s\n' "$(msg_prefix)" "$*" >&2
  exit 1
}
