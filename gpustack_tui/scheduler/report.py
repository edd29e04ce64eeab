"""The dry-run plan: what `gpustack-tui plan` prints and the deploy form previews."""

from __future__ import annotations

from typing import Any

from gpustack_tui.domain.units import format_bytes
from gpustack_tui.scheduler.model import NoFit, Placement


def plan_json(results: list[Placement | NoFit], max_context: int | None = None) -> dict[str, Any]:
    """`{"replicas": [{"fits", "nodes": [...], "max_context", "reasons"}]}`; nodes[0] leads."""
    replicas = []
    for result in results:
        if isinstance(result, NoFit):
            replicas.append(
                {"fits": False, "nodes": [], "max_context": None, "reasons": list(result.reasons)}
            )
            continue
        nodes = [
            {
                "worker": node.worker,
                "gpus": list(node.gpus),
                "vram_claim_bytes": {str(i): claim for i, claim in node.vram.items()},
                "ram_claim_bytes": node.ram,
            }
            for node in result.nodes
        ]
        replicas.append(
            {
                "fits": True,
                "nodes": nodes,
                "max_context": max_context,
                "reasons": [],
                "score": result.score,
            }
        )
    return {"replicas": replicas}


def plan_lines(plan: dict[str, Any]) -> list[str]:
    """The plan for people: one line per replica, then its nodes or reasons."""
    lines = []
    for number, replica in enumerate(plan["replicas"], start=1):
        if not replica["fits"]:
            lines.append(f"replica {number}: does not fit")
            lines += [f"    {reason}" for reason in replica["reasons"]]
            continue
        context = replica.get("max_context")
        suffix = f", context that fits: {context} tokens" if context else ""
        lines.append(f"replica {number}: fits{suffix}")
        for index, node in enumerate(replica["nodes"]):
            role = "leader" if index == 0 else "follower"
            claims = ", ".join(
                f"GPU {gpu} {format_bytes(claim)}"
                for gpu, claim in node["vram_claim_bytes"].items()
            )
            where = claims or "CPU only"
            ram = (
                f", RAM {format_bytes(node['ram_claim_bytes'])}" if node["ram_claim_bytes"] else ""
            )
            lines.append(f"    {node['worker']} ({role}): {where}{ram}")
            image = (node.get("launch") or {}).get("image")
            if image:
                lines.append(f"        image {image}")
    return lines
