"""Render gpustack-tui's main views with sample data to SVG files in `screenshots/`.

    .venv/bin/python scripts/export_screenshots.py [--out screenshots]

No server is needed: a stub client answers from the same sample data the TUI tests use.
Each view is driven with Textual's Pilot at 120x36, as an operator would see it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from textual.pilot import Pilot  # noqa: E402
from textual.widgets import Input, TextArea  # noqa: E402

from gpustack_tui.client import ServerUnavailable  # noqa: E402
from gpustack_tui.domain.deployment import DeploymentSpec  # noqa: E402
from gpustack_tui.domain.model import SearchHit  # noqa: E402
from gpustack_tui.tui.app import GpustackApp  # noqa: E402
from gpustack_tui.tui.screens.add_worker import AddWorkerRequest  # noqa: E402
from gpustack_tui.tui.screens.logs import LogsScreen  # noqa: E402
from gpustack_tui.tui.screens.workers import host_key_modal  # noqa: E402
from tests.tui.samples import StubClient, sample_deployments, sample_workers  # noqa: E402

SIZE = (120, 36)
SAMPLE_LOG = "".join(
    [
        "\x1b[32mINFO\x1b[0m  loading model from /models/qwen2.5-0.5b\n",
        "INFO  architecture Qwen2ForCausalLM, 494M parameters, bf16\n",
        "INFO  KV cache: 24576 tokens fit in the 12.0 GiB claim\n",
        "INFO  listening on 0.0.0.0:40001\n",
        *(f'INFO  127.0.0.1 "POST /v1/chat/completions" 200 {12 + n % 7} ms\n' for n in range(60)),
        "WARN  request queue above 8, consider scaling\n",
    ]
)


class UnreachableAfterFirst(StubClient):
    """Answers once, then behaves like a server that went away."""

    def __init__(self) -> None:
        super().__init__(sample_deployments(), sample_workers())
        self.answered = False

    def list_deployments(self) -> list:
        """The sample once, then ServerUnavailable."""
        if self.answered:
            raise ServerUnavailable("server_unavailable", "connection refused")
        self.answered = True
        return super().list_deployments()


class HubAndPlanClient(StubClient):
    """Also answers model search and plans, as a server reading a hub would."""

    def __init__(self) -> None:
        super().__init__(sample_deployments(), sample_workers())

    def search_models(self, query: str, source: str = "huggingface", limit: int = 20) -> list:
        """Sample hits, most downloaded first."""
        hits = [
            ("Qwen/Qwen3-0.6B", 4_213_000, 712, "2025-05-21", "text-generation", False),
            ("Qwen/Qwen3-8B", 2_044_000, 905, "2025-07-26", "text-generation", False),
            (
                "Qwen/Qwen3-Embedding-0.6B",
                1_530_000,
                650,
                "2025-06-20",
                "feature-extraction",
                False,
            ),
            ("Qwen/Qwen3-Reranker-4B", 310_000, 170, "2025-06-09", "text-ranking", False),
            ("Qwen/Qwen3-30B-A3B", 998_000, 801, "2025-07-31", "text-generation", False),
            ("unsloth/Qwen3-14B-GGUF", 85_000, 90, "2025-08-02", "text-generation", False),
        ]
        return [
            SearchHit(
                source=source,
                model_id=m,
                downloads=d,
                likes=lk,
                last_modified=u,
                pipeline_tag=t,
                gated=bool(g),
            )
            for m, d, lk, u, t, g in hits
            if query.lower() in m.lower()
        ]

    def estimate(self, body: dict) -> dict:
        """Qwen3-0.6B on one GPU of gpu-a."""
        best = {"claim_per_gpu": [(12 * 1024**3)], "largest_context": 40960}
        return {
            "metadata": {"weight_bytes": 1503300328, "category": "llm"},
            "gpu_source": "worker gpu-a",
            "estimate": best,
            "minimum": {"gpu_count": 1, "estimate": best, "reasons": []},
        }

    def plan(self, spec: DeploymentSpec) -> dict:
        """The first replica on gpu-a's free GPU, the second finds no room."""
        claim = int((spec.advanced.vram_claim_gib or 12) * 1024**3)
        fits = {
            "fits": True,
            "max_context": None,
            "reasons": [],
            "nodes": [
                {"worker": "gpu-a", "gpus": [0], "vram_claim_bytes": {"0": claim},
                 "ram_claim_bytes": 0}
            ],
        }  # fmt: skip
        full = {
            "fits": False,
            "nodes": [],
            "max_context": None,
            "reasons": [
                "gpu-a: GPU 1 has 5.0 GiB free, 12.0 GiB needed",
                "local: GPU 0 (simulated) taken by chat-a1b2",
                "gpu-c: unreachable (ssh: connection timed out after 10 s)",
            ],
        }
        return {"replicas": [fits, full][: spec.replicas]}


Scene = Callable[[GpustackApp, Pilot], Awaitable[None]]


async def deployments(app: GpustackApp, pilot: Pilot) -> None:
    """The main view, the cursor on a failing instance (its whole message below)."""
    app.screen.table.select_key("inst:embed-e5f6")


async def deploy_form(app: GpustackApp, pilot: Pilot) -> None:
    """The deploy form with a mistake in the env box."""
    await pilot.press("n")
    await pilot.pause()
    form = app.screen
    form.query_one("#local_path", Input).value = "/models/qwen2.5-0.5b"
    form.query_one("#name", Input).value = "qwen-small"
    form.query_one("#command", Input).value = "python -m server --model {model_path} --port {port}"
    form.query_one("#env", TextArea).text = "HF_HUB_OFFLINE=1\nCUDA_LAUNCH_BLOCKING"
    await pilot.press("ctrl+s")


async def model_search(app: GpustackApp, pilot: Pilot) -> None:
    """Searching Hugging Face as you type."""
    await pilot.press("m")
    await pilot.pause(0.2)
    await pilot.press(*"qwen3")
    await pilot.pause(0.8)
    await pilot.press("enter")


async def deploy_form_plan(app: GpustackApp, pilot: Pilot) -> None:
    """The form prefilled from a search result, sections open, the plan preview beside it."""
    await model_search(app, pilot)
    await pilot.press("enter")
    await pilot.pause(0.3)
    form = app.screen
    form.query_one("#command", Input).value = "python -m server --model {model_path} --port {port}"
    form.query_one("#replicas", Input).value = "2"
    form.query_one("#vram_claim_gib", Input).value = "12"
    await pilot.pause(0.8)


async def workers(app: GpustackApp, pilot: Pilot) -> None:
    """The workers with their GPUs."""
    await pilot.press("w")


async def host_key(app: GpustackApp, pilot: Pilot) -> None:
    """Adding a worker whose host key is new."""
    await pilot.press("w")
    await pilot.pause(0.2)
    details = {
        "host": "[10.0.0.12]:22",
        "key_type": "ssh-ed25519",
        "fingerprint": "SHA256:q3k9bKq8xVbqPZ0d7n0Jv6pVjD1gq1fQH2x9e4i0Xy8",
    }
    app.push_screen(host_key_modal(AddWorkerRequest("root@10.0.0.12"), details))


async def logs(app: GpustackApp, pilot: Pilot) -> None:
    """An instance's log, followed."""
    app.push_screen(LogsScreen("chat-a1b2", "chat"))


async def delete(app: GpustackApp, pilot: Pilot) -> None:
    """Deleting a deployment asks first, with Cancel focused."""
    app.screen.table.select_key("dep:embed")
    await pilot.press("ctrl+d")


async def scale(app: GpustackApp, pilot: Pilot) -> None:
    """Scaling a deployment."""
    app.screen.table.select_key("dep:chat")
    await pilot.press("s")


async def help_screen(app: GpustackApp, pilot: Pilot) -> None:
    """Every key of the deployments view."""
    await pilot.press("question_mark")


async def unreachable(app: GpustackApp, pilot: Pilot) -> None:
    """The server went away: the last data stays, the status line says so."""
    app.screen.refresh_now()


SCENES: dict[str, tuple[Scene, Callable[[], StubClient]]] = {
    "deployments": (deployments, lambda: StubClient(sample_deployments(), sample_workers())),
    "deploy-form": (deploy_form, lambda: StubClient()),
    "model-search": (model_search, HubAndPlanClient),
    "deploy-form-plan": (deploy_form_plan, HubAndPlanClient),
    "workers": (workers, lambda: StubClient(sample_deployments(), sample_workers())),
    "add-worker-host-key": (host_key, lambda: StubClient(workers=sample_workers())),
    "logs": (logs, lambda: StubClient(sample_deployments())),
    "delete-confirm": (delete, lambda: StubClient(sample_deployments())),
    "scale": (scale, lambda: StubClient(sample_deployments())),
    "help": (help_screen, lambda: StubClient(sample_deployments())),
    "server-unreachable": (unreachable, UnreachableAfterFirst),
}


async def render(name: str, out: Path) -> Path:
    """Run one scene and save what the terminal shows."""
    scene, make_client = SCENES[name]
    client = make_client()
    client.log_text = SAMPLE_LOG
    app = GpustackApp(client, refresh_interval=2.0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        await scene(app, pilot)
        await pilot.pause(0.5)
        path = Path(app.save_screenshot(f"{name}.svg", path=str(out)))
    client.close()
    return path


async def main(out: Path) -> None:
    """Render every scene."""
    out.mkdir(parents=True, exist_ok=True)
    for name in SCENES:
        print(await render(name, out))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "screenshots")
    asyncio.run(main(parser.parse_args().out))
