#!/usr/bin/env bash
# Install everything the tests need (system packages included), then run every check.
# Works on a fresh Debian/Ubuntu machine, as root or with sudo. `.ci/run` calls exactly this.
#
#   bash scripts/test.sh                 install, lint, types, every test (in parallel): what CI runs
#   bash scripts/test.sh --no-install    the same without apt-get and pip (an installed checkout)
#   bash scripts/test.sh --fast          no installation, no types: ruff and the fast tier (< 1 min)
#
# Further arguments go to pytest: `bash scripts/test.sh --fast -k fit`, `... --no-install tests/tui`.
# GPUSTACK_TEST_WORKERS sets pytest-xdist's process count (default: 4; the suite mostly waits).
set -euo pipefail
cd "$(dirname "$0")/.."

# The fast tier: pure functions and in-process tests (no server, sshd or container started).
FAST_TIER=(tests/domain tests/estimate tests/scheduler tests/backends tests/sources
           tests/server/proxy tests/server/control/test_lifecycle_rules.py
           tests/server/workers/test_workers_destination.py tests/agent/test_gpu_parsers.py
           tests/agent/test_runtime_argv.py tests/cli/test_deploy_flags.py tests/cli/test_output.py
           tests/tui/test_presentation.py tests/tui/test_describe_page.py
           tests/tui/test_deployments_query.py
           tests/tui/test_keymap.py tests/tui/test_forms.py tests/cli/test_mirrors_cli.py
           tests/server/api/test_image_mirrors.py tests/tui/test_plan_preview_text.py
           # these start servers or CLI processes: the full run has them
           --ignore=tests/sources/test_api.py --ignore=tests/scheduler/test_plan.py
           --ignore=tests/server/proxy/test_listener.py)

mode=full
case "${1:-}" in
    --fast) mode=fast; shift ;;
    --no-install) mode=no-install; shift ;;
esac

if [ "$mode" = full ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive

    echo "== system packages (openssh-server for the test workers, tmux for the terminal test)"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends \
        openssh-server openssh-client python3 python3-venv python3-pip procps tmux \
        podman runc uidmap slirp4netns fuse-overlayfs busybox-static >/dev/null  # containers
    $SUDO apt-get install -y -qq --no-install-recommends \
        librsvg2-bin fonts-dejavu-core >/dev/null  # PNG screenshots (tests/tui/test_snapshots.py)

    echo "== python packages"
    PYTHON="${PYTHON:-python3}"
    [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[test]"
fi

echo "== lint: ruff check, ruff format --check, import contracts"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports

if [ "$mode" = fast ]; then
    echo "== the fast tier (the whole suite: bash scripts/test.sh --no-install)"
    exec .venv/bin/python -m pytest -q -p no:cacheprovider -n 2 "${FAST_TIER[@]}" "$@"
fi

echo "== types: mypy (strict on domain, estimate, scheduler, backends, client, agent)"
.venv/bin/mypy

echo "== tests"
echo "(no GPU needed: workers report simulated GPUs, marked so; on a GPU machine run python3 scripts/gpu_check.py)"
exec .venv/bin/python -m pytest -q -p no:cacheprovider -n "${GPUSTACK_TEST_WORKERS:-4}" "$@"
