"""The deployments view's `/` filter (and `!` inverted), sort cycle and problems-only toggle."""

from __future__ import annotations

from gpustack_tui.domain.instance import InstanceState
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.tui.deployment_query import Query, has_problem
from gpustack_tui.tui.widgets.filter_bar import FilterBar
from tests.tui.conftest import SIZE
from tests.tui.samples import instance, sample_deployments, spec


def views() -> list[DeploymentView]:
    """chat (healthy, 2 replicas), embed (failing), and a newer healthy `zeta` with 1."""
    zeta = DeploymentView(
        spec=spec("zeta", 1), instances=[instance("zeta-1", "zeta", worker="gpu-z")], created_at=9
    )
    chat, embed = sample_deployments()
    chat.created_at, embed.created_at = 1, 5
    return [chat, embed, zeta]


def deployments_shown(screen) -> list[str]:
    return [k.removeprefix("dep:") for k in screen.table.row_keys if k.startswith("dep:")]


def title(screen) -> str:
    return str(screen.query_one("TitleBar").render())


async def test_slash_filters_as_you_type_and_the_filter_stays_in_the_title(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        screen.show_data(views())
        await pilot.pause()
        await pilot.press("slash")
        await pilot.pause()
        bar = screen.query_one(FilterBar)
        assert app.focused is bar and bar.display
        await pilot.press(*"gpu-c")  # a worker of one of embed's instances
        await pilot.pause()
        assert deployments_shown(screen) == ["embed"]
        # Its instance rows stay under it.
        assert "inst:embed-i9j0" in screen.table.row_keys
        assert "Deployments[1/3]" in title(screen) and "/gpu-c" in title(screen)
        await pilot.press("enter")  # keep the filter, keys back to the table
        await pilot.pause()
        assert app.focused is screen.table
        assert bar.display and bar.value == "gpu-c"
        assert "/gpu-c" in title(screen)
        # The periodic refresh keeps the filter.
        screen.show_data(views())
        await pilot.pause()
        assert deployments_shown(screen) == ["embed"]


async def test_bang_inverts_and_escape_clears_and_closes(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        screen.show_data(views())
        await pilot.pause()
        await pilot.press("slash", *"!CUDA")  # case-insensitive, over reasons too
        await pilot.pause()
        assert deployments_shown(screen) == ["chat", "zeta"]
        await pilot.press("escape")
        await pilot.pause()
        bar = screen.query_one(FilterBar)
        assert not bar.display and bar.value == ""
        assert deployments_shown(screen) == ["chat", "embed", "zeta"]
        assert "/" not in title(screen).split("Instances")[1]
        # Escape on the table also clears a kept filter.
        await pilot.press("slash", *"vllm", "enter")
        await pilot.pause()
        assert deployments_shown(screen) == []
        assert "nothing matches" in str(screen.query_one("#detail").render())
        await pilot.press("escape")
        await pilot.pause()
        assert deployments_shown(screen) == ["chat", "embed", "zeta"]


async def test_filtering_keeps_the_cursor_on_its_deployment(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        screen.show_data(views())
        await pilot.pause()
        screen.table.select_key("inst:zeta-1")
        await pilot.press("slash", *"!embed", "enter")
        await pilot.pause()
        assert screen.table.cursor_key == "inst:zeta-1"
        screen.show_data(views())  # the periodic refresh keeps cursor and filter
        await pilot.pause()
        assert screen.table.cursor_key == "inst:zeta-1"
        assert deployments_shown(screen) == ["chat", "zeta"]
        await pilot.press("escape")
        await pilot.pause()
        assert screen.table.cursor_key == "inst:zeta-1"


async def test_o_cycles_the_sort_keeping_the_cursor(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        screen.show_data(views())
        await pilot.pause()
        screen.table.select_key("dep:chat")
        assert deployments_shown(screen) == ["chat", "embed", "zeta"]
        assert "sort:name" in title(screen)
        expected = {
            "state": ["embed", "chat", "zeta"],  # error first; all-running last, by name
            "age": ["zeta", "embed", "chat"],  # newest first
            "replicas": ["embed", "chat", "zeta"],  # 3, 2, 1
            "name": ["chat", "embed", "zeta"],
        }
        for order, names in expected.items():
            await pilot.press("o")
            await pilot.pause()
            assert deployments_shown(screen) == names, order
            assert f"sort:{order}" in title(screen)
            assert screen.table.cursor_key == "dep:chat"


async def test_p_shows_problems_only(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        data = views()
        data[2].spec.replicas = 2  # zeta runs 1 of 2: a problem
        screen.show_data(data)
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        assert deployments_shown(screen) == ["embed", "zeta"]
        assert "problems" in title(screen)
        await pilot.press("p")
        await pilot.pause()
        assert deployments_shown(screen) == ["chat", "embed", "zeta"]


def test_problem_rules():
    healthy = DeploymentView(spec=spec("a", 1), instances=[instance("a-1", "a")])
    assert not has_problem(healthy)
    held = DeploymentView(
        spec=spec("b", 0),
        instances=[instance("b-1", "b", InstanceState.PENDING, "no GPU with 12.0 GiB free")],
    )
    assert has_problem(held)
    waiting = DeploymentView(
        spec=spec("c", 0), instances=[instance("c-1", "c", InstanceState.PENDING, "")]
    )
    assert not has_problem(waiting)
    lost = DeploymentView(
        spec=spec("d", 1), instances=[instance("d-1", "d", InstanceState.UNREACHABLE)]
    )
    assert has_problem(lost)
    assert not has_problem(DeploymentView(spec=spec("e", 0)))
    assert Query(text="!").matches(healthy)  # an empty inverted filter hides nothing
