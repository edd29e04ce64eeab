"""The deploy form's plan preview names the image each node will pull."""

from __future__ import annotations

from gpustack_tui.tui.widgets.plan_preview import plan_text

IMAGE = "registry.lab:5000/mirror/gpustack/runner:cuda12.9-vllm0.25.1"


def test_each_node_shows_the_image_it_pulls() -> None:
    node = {"worker": "w1", "vram_claim_bytes": {"0": 1024**3}, "ram_claim_bytes": 0,
            "launch": {"image": IMAGE, "argv": ["vllm"], "env": {}}}  # fmt: skip
    process = {"worker": "w2", "vram_claim_bytes": {}, "ram_claim_bytes": 0,
               "launch": {"image": None, "argv": ["python"], "env": {}}}  # fmt: skip
    plan = {"replicas": [{"fits": True, "nodes": [node, process], "max_context": None}]}
    assert plan_text(plan).plain.splitlines()[2:] == [
        "  w1 (leader): GPU 0 1.0 GiB",
        f"    image {IMAGE}",
        "  w2 (follower): CPU only",  # a process: no image line
    ]
