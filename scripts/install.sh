#!/usr/bin/env bash
# Install gpustack-tui for the current user from this checkout, into its own virtual environment,
# and link the command into ~/.local/bin. Works on a fresh Debian/Ubuntu machine.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c "import venv, ensurepip" 2>/dev/null; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3 python3-venv >/dev/null
fi
VENV="${GPUSTACK_TUI_VENV:-$HOME/.local/share/gpustack-tui/venv}"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q .
mkdir -p "$HOME/.local/bin"
ln -sf "$VENV/bin/gpustack-tui" "$HOME/.local/bin/gpustack-tui"
echo "installed: $HOME/.local/bin/gpustack-tui"
