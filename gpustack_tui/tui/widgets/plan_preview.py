"""The deploy form's live plan preview: where each replica would land, or why nothing fits."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.message import Message
from textual.widgets import Static

from gpustack_tui.client import ApiError
from gpustack_tui.domain.units import format_bytes


class PlanReady(Message):
    """A plan request finished: `plan` on success, `error` when the server refused."""

    def __init__(
        self,
        seq: int,
        plan: dict[str, Any] | None,
        error: ApiError | None,
        estimate: dict[str, Any] | None = None,
        estimate_error: str = "",
    ) -> None:
        super().__init__()
        self.seq = seq
        self.plan = plan
        self.error = error
        self.estimate = estimate
        self.estimate_error = estimate_error


def plan_text(plan: dict[str, Any]) -> Text:
    """One block per replica: its nodes with GPUs and claims (leader first), or the reasons."""
    text = Text()
    replicas = plan.get("replicas", [])
    if not replicas:
        text.append("0 replicas: nothing would be started", style="dim")
        return text
    fits = sum(1 for r in replicas if r.get("fits"))
    style = "green" if fits == len(replicas) else "bold red" if not fits else "yellow"
    text.append(f"{fits} of {len(replicas)} replicas fit\n", style=style)
    for number, replica in enumerate(replicas, start=1):
        if not replica.get("fits"):
            text.append(f"✗ replica {number}: does not fit\n", style="red")
            for reason in replica.get("reasons", []):
                text.append(f"  {reason}\n")
            continue
        context = replica.get("max_context")
        text.append(f"✓ replica {number}", style="green")
        text.append(f" (context that fits: {context} tokens)\n" if context else "\n")
        for index, node in enumerate(replica.get("nodes", [])):
            role = "leader" if index == 0 else "follower"
            claims = node.get("vram_claim_bytes", {})
            gpus = ", ".join(f"GPU {g} {format_bytes(c)}" for g, c in claims.items())
            ram = node.get("ram_claim_bytes") or 0
            text.append(f"  {node.get('worker')} ({role}): ", style="bold")
            text.append(gpus or "CPU only")
            text.append(f", RAM {format_bytes(ram)}\n" if ram else "\n")
            image = (node.get("launch") or {}).get("image")
            if image:
                text.append(f"    image {image}\n", style="dim")
    return text


def estimate_text(answer: dict[str, Any]) -> Text:
    """The model's size and what one replica needs (from POST /estimate)."""
    text = Text("\nEstimate\n", style="bold")
    meta = answer.get("metadata", {})
    text.append(f"  weights {format_bytes(int(meta.get('weight_bytes') or 0))}")
    text.append(f", {meta.get('category', '?')}\n")
    minimum = answer.get("minimum", {})
    best = minimum.get("estimate")
    if not best:
        text.append("  no GPU count fits:\n", style="red")
        for reason in minimum.get("reasons", []):
            text.append(f"  {reason}\n")
        return text
    claims = ", ".join(format_bytes(c) for c in best.get("claim_per_gpu", []))
    text.append(f"  needs {minimum.get('gpu_count')} GPU(s): {claims} each\n")
    context = best.get("largest_context")
    if context:
        text.append(f"  context that fits: {context} tokens\n")
    return text


class PlanPreview(Static):
    """Shows the latest plan, a waiting note, or why no plan can be made."""

    DEFAULT_CSS = """
    PlanPreview {
        height: 1fr;
        border: round $accent;
        border-title-color: $accent;
        padding: 0 1;
        overflow-y: auto;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.border_title = "Plan preview"
        self.plan: dict[str, Any] | None = None
        self.message = ""

    def show_plan(
        self, plan: dict[str, Any], estimate: dict[str, Any] | None = None, estimate_error: str = ""
    ) -> None:
        """Show where the replicas would land, and the estimate when there is one."""
        self.plan = plan
        self.message = ""
        text = plan_text(plan)
        if estimate is not None:
            text.append_text(estimate_text(estimate))
        elif estimate_error:
            text.append(f"\nEstimate: {estimate_error}\n", style="dim")
        self.update(text)

    def show_message(self, text: str, style: str = "dim") -> None:
        """Show why there is no plan (invalid fields, the server's refusal, waiting)."""
        self.plan = None
        self.message = text
        self.update(Text(text, style=style))
