"""Commands over SSH: a connection that is already closed reads as an unreachable worker."""

from __future__ import annotations

import paramiko
import pytest

from gpustack_tui.server.workers.errors import WorkerUnreachable
from gpustack_tui.server.workers.upload import run_command


def test_a_closed_connection_is_unreachable_not_an_attribute_error() -> None:
    client = paramiko.SSHClient()  # never connected: it has no transport
    with pytest.raises(WorkerUnreachable, match="connection is closed"):
        run_command(client, "true", timeout=1.0)
