"""Regenerate `screenshots/`: every screen of gpustack-tui as an SVG and a PNG.

    .venv/bin/python scripts/export_screenshots.py [--demo] [--only NAME ...] [--size 120x36]
                                                   [--out screenshots] [--no-png]

Where the pictures come from:
- By default, from the scenes of the snapshot tests (tests/tui/scenes.py): the real app,
  driven by Textual's Pilot, against a client that answers from sample data at a frozen time
  (2026-11-20 14:30 UTC). The same command gives the same pictures on every machine.
- With `--demo`, from a private `gpustack-tui demo` installation started for the purpose (a
  real server, simulated workers and GPUs, the built-in test backend), stopped afterwards. The
  scenes a demo cannot show fall back to the sample data, and the script says which: the model
  search and the plan preview (they need a model hub), the server going away, the empty
  installation, deleting a deployment with nothing running, and the usage figures (a fresh
  demo has served no request).

PNGs are drawn by `rsvg-convert` (Debian's librsvg2-bin, 2.54 on bookworm) with DejaVu Sans
Mono (fonts-dejavu-core): `apt-get install librsvg2-bin fonts-dejavu-core`. The SVGs ask for
Fira Code from the web; the PNGs use the local monospace font instead, so that no network is
needed and every cell keeps its width.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gpustack_tui.client import Client  # noqa: E402
from gpustack_tui.tui.app import GpustackApp  # noqa: E402
from tests.tui.scenes import BY_NAME, SCENES, Scene, run_before  # noqa: E402
from tests.tui.showcase import frozen_clock  # noqa: E402

PNG_FONT = "DejaVu Sans Mono"
RSVG = "rsvg-convert"
MISSING_RSVG = (
    "rsvg-convert not found: install it with `apt-get install librsvg2-bin fonts-dejavu-core` "
    "(or pass --no-png for the SVGs only)"
)


def size_of(text: str) -> tuple[int, int]:
    """`120x36` as (columns, rows)."""
    match = re.fullmatch(r"(\d+)x(\d+)", text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: give the size as COLUMNSxROWS, e.g. 120x36")
    return int(match[1]), int(match[2])


async def take_screenshot(
    scene: Scene, client: Client, size: tuple[int, int], app_class: type[GpustackApp]
) -> str:
    """Run `scene` on a terminal of `size` and return what it shows, as SVG."""
    app = app_class(client, refresh_interval=None)
    async with app.run_test(size=size) as pilot:
        await run_before(scene)(pilot)
        return app.export_screenshot(title=app.title)


def for_png(svg: str) -> str:
    """The SVG as rsvg-convert should draw it: the local monospace font, and spaces kept
    (librsvg drops a text element's leading spaces otherwise, shifting coloured words)."""
    svg = re.sub(r'font-family: "?Fira Code"?', f'font-family: "{PNG_FONT}"', svg)
    return svg.replace("<svg ", '<svg xml:space="preserve" ', 1)


def svg_to_png(svg: str, png: Path) -> None:
    """Draw `svg` into the file `png`."""
    rsvg = shutil.which(RSVG)
    if rsvg is None:
        raise SystemExit(MISSING_RSVG)
    subprocess.run(
        [rsvg, "--format", "png", "-o", str(png)], input=for_png(svg).encode(), check=True
    )


@contextlib.contextmanager
def demo_installation() -> Iterator[tuple[Client, type[GpustackApp]]]:
    """A running demo installation's client and the app labelled DEMO; stopped afterwards."""
    from gpustack_tui.demo.installation import start_demo
    from gpustack_tui.demo.tui import DemoApp
    from gpustack_tui.launcher import ServerStartFailed

    try:
        demo = start_demo(say=lambda line: print(line, file=sys.stderr))
    except ServerStartFailed as exc:
        raise SystemExit(f"the demo did not start ({exc}): run without --demo") from None
    client = demo.client()
    try:
        yield client, DemoApp
    finally:
        client.close()
        demo.stop(say=lambda line: print(line, file=sys.stderr))


async def render(scene: Scene, size: tuple[int, int], out: Path, png: bool) -> list[Path]:
    """One scene from the sample data, at the frozen time."""
    client = scene.client()
    try:
        with frozen_clock():
            svg = await take_screenshot(scene, client, size, GpustackApp)
    finally:
        client.close()
    return save(scene.name, svg, out, png)


def save(name: str, svg: str, out: Path, png: bool) -> list[Path]:
    """Write NAME.svg (and NAME.png) into `out`."""
    paths = [out / f"{name}.svg"]
    paths[0].write_text(svg, encoding="utf-8")
    if png:
        paths.append(out / f"{name}.png")
        svg_to_png(svg, paths[1])
    return paths


async def main(args: argparse.Namespace) -> None:
    """Render the chosen scenes, from the demo where asked and possible."""
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.no_png and shutil.which(RSVG) is None:
        raise SystemExit(MISSING_RSVG)
    scenes = [BY_NAME[name] for name in args.only] if args.only else SCENES
    from_demo = [s for s in scenes if args.demo and s.demo]
    if args.demo:
        fallback = [s.name for s in scenes if not s.demo]
        if fallback:
            print(f"from the sample data (a demo cannot show them): {', '.join(fallback)}")
    if from_demo:
        with demo_installation() as (client, app_class):
            for scene in from_demo:
                svg = await take_screenshot(scene, client, args.size, app_class)
                for path in save(scene.name, svg, args.out, not args.no_png):
                    print(path)
    for scene in scenes:
        if scene not in from_demo:
            for path in await render(scene, args.size, args.out, not args.no_png):
                print(path)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "screenshots", help="folder to write")
    parser.add_argument(
        "--only", nargs="+", choices=list(BY_NAME), metavar="NAME", help="these scenes only"
    )
    parser.add_argument("--size", type=size_of, default=(120, 36), help="COLUMNSxROWS")
    parser.add_argument("--demo", action="store_true", help="take the pictures from a demo")
    parser.add_argument("--no-png", action="store_true", help="write the SVGs only")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
