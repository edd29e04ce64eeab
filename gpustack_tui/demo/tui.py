"""The TUI of the demo: the ordinary app with `DEMO` in every title bar."""

from __future__ import annotations

import signal
from pathlib import Path

from gpustack_tui.demo.installation import Demo
from gpustack_tui.tui import app as tui_app
from gpustack_tui.tui.app import GpustackApp

STOP_SIGNALS = (signal.SIGHUP, signal.SIGTERM)


class DemoApp(GpustackApp):
    """GpustackApp labelled as a demo (TitleBar shows `title_badge`)."""

    title_badge = "DEMO"
    # Textual reads a relative CSS_PATH beside the class's own module: point at the app's.
    CSS_PATH = str(Path(tui_app.__file__).parent / GpustackApp.CSS_PATH)


def run_demo_tui(demo: Demo, keep: bool) -> None:
    """Run the TUI against the demo server until the user quits."""
    after = "it keeps running after you quit (--keep)" if keep else "quitting stops it"
    status = f"demo: simulated workers and GPUs, a built-in test backend; {after}"
    client = demo.client()
    app = DemoApp(client, status)
    # A closed terminal (SIGHUP) or a kill (SIGTERM) ends the TUI like `q`, so the caller
    # still stops the demo: it must not outlive a dropped SSH session.
    previous = {sig: signal.signal(sig, lambda *_: app.exit()) for sig in STOP_SIGNALS}
    try:
        app.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        client.close()
