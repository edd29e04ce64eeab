"""What every GPU reader shares: the `Gpu` record, tool output errors, and running a tool.

Parsers are pure functions over a tool's output text; only `run_tool` touches the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any, Dict, List, Optional, Sequence

MIB = 1024 * 1024
TOOL_TIMEOUT_SECONDS = 20.0

GpuList = List[Dict[str, Any]]
Versions = Dict[str, str]


class ToolOutputError(Exception):
    """A GPU tool ran but said something we cannot read; the message names the tool."""

    def __init__(self, tool: str, message: str) -> None:
        super().__init__(f"{tool}: {message}")
        self.tool = tool


def gpu(index: int, name: str, vendor: str, **fields: Any) -> Dict[str, Any]:
    """A `Gpu` object of PROTOCOL.md, with defaults for what a tool does not tell."""
    record = {
        "index": index,
        "name": name,
        "vendor": vendor,
        "uuid": None,
        "memory_total": 0,
        "memory_used": 0,
        "utilization": None,
        "temperature": None,
        "simulated": False,
    }
    record.update(fields)
    return record


def number(value: Any) -> Optional[float]:
    """A float from a tool's cell ("42", "42.5", 42), None for "N/A", "[Not Supported]", ""."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def whole(value: Any) -> Optional[int]:
    """`number(value)` rounded to an int, or None."""
    found = number(value)
    return None if found is None else round(found)


def read_text(path: str) -> Optional[str]:
    """The text of a small file (a version file), or None when it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(65536)
    except OSError:
        return None


def run_tool(argv: Sequence[str], ok_codes: Sequence[int] = (0,)) -> Optional[str]:
    """The stdout of `argv`, or None when the tool is not on PATH.

    Raises ToolOutputError when it cannot run, times out, or exits with a code not in
    `ok_codes`; the message holds the end of what it printed.
    """
    program = shutil.which(argv[0])
    if program is None:
        return None
    env = dict(os.environ)
    env["LC_ALL"] = "C"  # numbers with '.' decimals, English messages
    try:
        done = subprocess.run(
            [program, *argv[1:]],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=TOOL_TIMEOUT_SECONDS,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ToolOutputError(argv[0], f"no answer within {TOOL_TIMEOUT_SECONDS:.0f} s") from None
    except OSError as exc:
        raise ToolOutputError(argv[0], f"cannot run it: {exc}") from None
    out = done.stdout.decode("utf-8", "replace")
    if done.returncode not in ok_codes:
        said = (out + done.stderr.decode("utf-8", "replace")).strip()[-500:]
        raise ToolOutputError(argv[0], f"exited with {done.returncode}: {said or 'no output'}")
    return out
