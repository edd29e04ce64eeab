#!/usr/bin/env bash
# Install everything the tests need (system packages included), then run every check.
# Works on a fresh Debian/Ubuntu machine, as root or with sudo. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

echo "== system packages (openssh-server for the test workers, tmux for the terminal test)"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    openssh-server openssh-client python3 python3-venv python3-pip procps tmux \
    podman runc uidmap slirp4netns fuse-overlayfs busybox-static >/dev/null  # container tests
$SUDO apt-get install -y -qq --no-install-recommends \
    librsvg2-bin fonts-dejavu-core >/dev/null  # PNG screenshots (tests/tui/test_snapshots.py)

echo "== python packages"
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"

echo "== lint: ruff check, ruff format --check, import contracts"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports

echo "== tests"
echo "(no GPU needed: workers report simulated GPUs, marked so; on a GPU machine run python3 scripts/gpu_check.py)"
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
