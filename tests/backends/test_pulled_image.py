"""The image a launch plan carries is the one the worker pulls: fully qualified, then rewritten
by the node's mirror rules (the worker's own before the installation's), for every backend."""

from __future__ import annotations

from gpustack_tui.backends.for_spec import Site, launch_plan
from gpustack_tui.backends.plan import LaunchPlan
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.images import mirror_sets
from gpustack_tui.domain.user_backend import UserBackend
from gpustack_tui.scheduler.report import plan_lines

RUNNER = "docker.io/gpustack/runner:cuda12.9-vllm0.25.1"
WORKER = {"docker.io/gpustack/": "registry.lab:5000/mirror/gpustack/"}
INSTALLATION = {"docker.io/": "hub.lab/", "ghcr.io/": "ghcr.lab/"}


def spec(backend: str = "vllm", **advanced: object) -> DeploymentSpec:
    return DeploymentSpec.model_validate(
        {"name": "m", "source": {"local_path": "/models/m"}, "backend": backend,
         "advanced": advanced}
    )  # fmt: skip


def site(worker: dict[str, str], installation: dict[str, str]) -> Site:
    return Site(worker_ip="10.0.0.1", gpus=(0,), image_mirrors=mirror_sets(worker, installation))


def user_backend(image: str | None) -> UserBackend:
    return UserBackend.model_validate(
        {"name": "llama-cpp", "image": image, "command": "llama-server -m {model_path}"}
    )


def test_a_builtin_backend_pulls_through_the_workers_rule_before_the_installations() -> None:
    plan = launch_plan(spec(), site(WORKER, INSTALLATION), "/models/m", None)
    assert plan.image == "registry.lab:5000/mirror/gpustack/runner:cuda12.9-vllm0.25.1"
    plan = launch_plan(spec(), site({}, INSTALLATION), "/models/m", None)
    assert plan.image == "hub.lab/gpustack/runner:cuda12.9-vllm0.25.1"
    assert launch_plan(spec(), site({}, {}), "/models/m", None).image == RUNNER


def test_a_user_backends_image_is_qualified_and_rewritten_alike() -> None:
    short = user_backend("llama.cpp:server")
    plan = launch_plan(spec("llama-cpp"), site({}, {}), "/models/m", None, None, short)
    assert plan.image == "docker.io/library/llama.cpp:server"
    ghcr = user_backend("ghcr.io/ggml-org/llama.cpp:server")
    plan = launch_plan(spec("llama-cpp"), site(WORKER, INSTALLATION), "/m", None, None, ghcr)
    assert plan.image == "ghcr.lab/ggml-org/llama.cpp:server"
    process = launch_plan(spec("llama-cpp"), site(WORKER, {}), "/m", 1, None, user_backend(None))
    assert process.image is None


def test_a_custom_command_stays_a_process() -> None:
    custom = spec("custom", command="python -m http.server {port}")
    assert launch_plan(custom, site(WORKER, INSTALLATION), "/m", 8000).image is None


def test_the_sidecar_pulls_through_the_same_rules() -> None:
    plan = LaunchPlan(argv=["vllm"], image=RUNNER, sidecar=LaunchPlan(argv=["ray"], image=RUNNER))
    pulled = plan.pulled_from(WORKER)
    mirrored = "registry.lab:5000/mirror/gpustack/runner:cuda12.9-vllm0.25.1"
    assert pulled.image == mirrored
    assert pulled.sidecar is not None and pulled.sidecar.image == mirrored
    assert pulled.argv == ["vllm"]


def test_the_plan_for_people_names_the_image() -> None:
    node = {"worker": "w1", "vram_claim_bytes": {"0": 1024**3}, "ram_claim_bytes": 0,
            "launch": {"image": "registry.lab:5000/x:1", "argv": [], "env": {}}}  # fmt: skip
    lines = plan_lines({"replicas": [{"fits": True, "nodes": [node], "max_context": None}]})
    assert lines[-1] == "        image registry.lab:5000/x:1"
