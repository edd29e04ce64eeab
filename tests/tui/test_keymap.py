"""keymap.toml and tui.toml: remapped keys work, bad entries are reported, never a crash."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen

from gpustack_tui.config import resolve_paths
from gpustack_tui.tui.app import GpustackApp
from gpustack_tui.tui.keymap import load_settings
from gpustack_tui.tui.screen_registry import SCREENS, keymap_owners
from gpustack_tui.tui.screens.deployments import DeploymentsScreen
from gpustack_tui.tui.screens.describe import DescribeScreen
from gpustack_tui.tui.screens.help import HelpScreen
from gpustack_tui.tui.widgets.status_line import StatusLine
from tests.tui.conftest import SIZE, StubClient
from tests.tui.samples import sample_deployments

OWNERS = keymap_owners(GpustackApp)


def classes_with_bindings() -> set[type[DOMNode]]:
    """Every class of gpustack_tui.tui that declares key bindings (its modules imported)."""
    for package in ("gpustack_tui.tui.screens", "gpustack_tui.tui.widgets"):
        module = importlib.import_module(package)
        for info in pkgutil.iter_modules(module.__path__):
            importlib.import_module(f"{package}.{info.name}")
    found: set[type[DOMNode]] = set()
    pending: list[type[DOMNode]] = [DOMNode]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if sub.__module__.startswith("gpustack_tui.tui") and sub.__dict__.get("BINDINGS"):
                found.add(sub)
    return found


def test_every_class_with_bindings_is_a_keymap_owner():
    """A new screen or widget with keys must be listed, or its keys could not be remapped."""
    assert classes_with_bindings() <= set(OWNERS.all())


def test_every_registered_screen_builds_the_class_it_is_named_for():
    assert SCREENS["edit-form"].__self__ is SCREENS["deploy-form"]  # the form, editing
    views = [build for build in SCREENS.values() if isinstance(build, type)]
    assert len(set(views)) == len(views) and set(views) <= set(OWNERS.screens)


def settings_from(tmp_path: Path, keymap: str = "", tui: str = ""):
    paths = resolve_paths(tmp_path)
    paths.ensure()
    if keymap:
        paths.keymap_file.write_text(keymap)
    if tui:
        paths.tui_settings_file.write_text(tui)
    return load_settings(paths.keymap_file, paths.tui_settings_file, OWNERS)


def test_the_files_live_in_the_config_folder_of_the_data_dir(tmp_path):
    paths = resolve_paths(tmp_path)
    assert paths.keymap_file == tmp_path.resolve() / "config" / "keymap.toml"
    assert paths.tui_settings_file == tmp_path.resolve() / "config" / "tui.toml"
    assert load_settings(paths.keymap_file, paths.tui_settings_file, OWNERS).problems == []


def test_unknown_ids_clashes_and_non_keys_are_left_out_with_a_reason(tmp_path):
    settings = settings_from(
        tmp_path,
        '"deployments.describe" = "i"\n'
        '"deployments.delet" = "ctrl+x"\n'
        '"deployments.bogus" = "b"\n'
        '"deployment.scale" = "b"\n'
        '"deployments.copy_name" = "s"\n'  # s already scales
        '"deployments.sort" = 3\n'
        '"deployments.problems" = ["z", "Z"]\n',
    )
    assert settings.keymap == {"deployments.describe": "i", "deployments.problems": "z,Z"}
    text = "\n".join(settings.problems)
    assert "unknown binding id 'deployments.delet' (did you mean deployments.delete?)" in text
    assert "deployments.copy_name kept its default key: s is already Scale" in text
    assert "unknown binding id 'deployments.bogus' (? lists the ids)" in text
    assert "unknown binding id 'deployment.scale' (did you mean deployments.scale?)" in text
    assert "deployments.sort = 3 is not a key" in text
    assert len(settings.problems) == 5


def test_swapping_two_keys_is_no_clash(tmp_path):
    settings = settings_from(
        tmp_path, '"deployments.describe" = "c"\n"deployments.copy_name" = "d"\n'
    )
    assert settings.problems == []
    assert settings.keymap == {"deployments.describe": "c", "deployments.copy_name": "d"}


def test_a_file_that_does_not_parse_is_reported_and_ignored(tmp_path):
    settings = settings_from(tmp_path, '"deployments.describe" = \n', 'theme = "no-such"\n')
    assert settings.keymap == {} and settings.theme is None
    assert settings.problems[0].startswith("keymap.toml ignored:")
    assert "unknown theme 'no-such'; one of" in settings.problems[1]


def test_multiplexer_prefixes_are_applied_but_warned_about(tmp_path):
    settings = settings_from(tmp_path, '"deployments.describe" = "ctrl+b"\n')
    assert settings.keymap == {"deployments.describe": "ctrl+b"}
    assert "never arrives under tmux" in settings.problems[0]


def test_defaults_have_ids_and_avoid_f_keys_and_multiplexer_prefixes():
    for cls in OWNERS.all():
        for binding in Binding.make_bindings(cls.__dict__.get("BINDINGS", [])):
            assert binding.key not in ("ctrl+a", "ctrl+b"), (cls, binding)
            assert not (binding.key.startswith("f") and binding.key[1:].isdigit()), cls
            if issubclass(cls, Screen) or cls.__name__ == "GpustackApp":
                assert binding.id, (cls.__name__, binding.key)


async def test_a_remapped_key_works_the_old_one_does_not_and_problems_show(make_app, tmp_path):
    settings = settings_from(
        tmp_path,
        '"deployments.describe" = "i"\n"nope" = "x"\n',
        'theme = "nord"\n',
    )
    app = make_app(
        StubClient(sample_deployments()),  # an answering server: no error takes the status line
        keymap=settings.keymap,
        theme=settings.theme,
        config_problems=settings.problems,
    )
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == "nord"
        screen = app.screen
        status = screen.query_one(StatusLine)
        assert status.level == "warning" and "unknown binding id 'nope'" in status.message
        assert any("'nope'" in str(n.message) for n in app._notifications)
        screen.show_data(sample_deployments())
        await pilot.pause()
        screen.table.select_key("dep:chat")
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, DeploymentsScreen)
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, DescribeScreen)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        entries = {e.binding_id: e for e in app.screen.entries}
        assert entries["deployments.describe"].keys == "i"
        assert entries["deployments.describe"].remapped
        assert not entries["deployments.scale"].remapped
        table = app.screen.query_one("DataTable")
        keys_column = [str(table.get_row_at(n)[0]) for n in range(table.row_count)]
        assert "i (remapped)" in keys_column


def test_the_readme_examples_load_without_problems(tmp_path):
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("### Keymap and theme", 1)[1]
    blocks = [b.split("```", 1)[0] for b in section.split("```toml\n")[1:3]]
    settings = settings_from(tmp_path, blocks[0], blocks[1])
    assert settings.problems == []
    assert settings.keymap["deployments.describe"] == "d,i" and settings.theme == "nord"
