"""Every screen of the TUI by name, and every class whose key bindings a keymap may remap.

Views open one another by name (`app.open_screen("workers")`), so no screen imports another to
push it, and the palette offers the views by the same names. Dialogs belong to the view that
asks (it builds them with what it asks about) and are pushed directly; they are listed here
for the keymap, whose ids cover exactly the classes named in `keymap_owners`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.app import App
from textual.screen import ModalScreen, Screen
from textual.widget import Widget

from gpustack_tui.tui.screens.add_worker import AddWorkerModal
from gpustack_tui.tui.screens.api_keys import ApiKeysScreen, CreateKeyModal, ShownOnceModal
from gpustack_tui.tui.screens.backends import AddBackendModal, BackendsScreen
from gpustack_tui.tui.screens.confirm import ConfirmModal
from gpustack_tui.tui.screens.deploy_form import DeployFormScreen
from gpustack_tui.tui.screens.deployments import DeploymentsScreen
from gpustack_tui.tui.screens.describe import DescribeScreen
from gpustack_tui.tui.screens.help import HelpScreen
from gpustack_tui.tui.screens.labels import LabelsModal
from gpustack_tui.tui.screens.logs import LogsScreen
from gpustack_tui.tui.screens.model_search import ModelSearchScreen
from gpustack_tui.tui.screens.scale import ScaleModal
from gpustack_tui.tui.screens.type_to_confirm import TypeToConfirmModal
from gpustack_tui.tui.screens.usage import UsageScreen
from gpustack_tui.tui.screens.workers import WorkersScreen
from gpustack_tui.tui.widgets.filter_bar import FilterBar
from gpustack_tui.tui.widgets.keyed_table import KeyedTable
from gpustack_tui.tui.widgets.path_input import PathChoices, PathInput

SCREENS: dict[str, Callable[..., Screen[Any]]] = {
    "deployments": DeploymentsScreen,
    "workers": WorkersScreen,
    "api-keys": ApiKeysScreen,
    "usage": UsageScreen,
    "backends": BackendsScreen,
    "model-search": ModelSearchScreen,
    "deploy-form": DeployFormScreen,
    "edit-form": DeployFormScreen.editing,
    "logs": LogsScreen,
    "describe": DescribeScreen,
    "help": HelpScreen,
}
"""Name -> what builds the screen from the arguments `open_screen` passes on."""

DIALOGS: tuple[type[ModalScreen[Any]], ...] = (
    AddWorkerModal,
    AddBackendModal,
    ConfirmModal,
    CreateKeyModal,
    LabelsModal,
    ScaleModal,
    ShownOnceModal,
    TypeToConfirmModal,
)
"""The questions views ask; each view builds and pushes its own."""

KEYED_WIDGETS: tuple[type[Widget], ...] = (KeyedTable, FilterBar, PathInput, PathChoices)
"""Widgets with key bindings of their own."""


@dataclass(frozen=True)
class KeymapOwners:
    """The classes whose bindings a keymap may name, and which of them are active together:
    the app's keys everywhere, and the focused table's in every server view."""

    app: type[App[Any]]
    screens: tuple[type[Screen[Any]], ...]
    widgets: tuple[type[Widget], ...]
    table: type[Widget]

    def all(self) -> tuple[type[App[Any]] | type[Screen[Any]] | type[Widget], ...]:
        """Every owner, the app first."""
        return (self.app, *self.screens, *self.widgets)


def keymap_owners(app: type[App[Any]]) -> KeymapOwners:
    """The owners of an app of class `app` (the app module passes itself: no import cycle)."""
    views = tuple(build for build in SCREENS.values() if isinstance(build, type))
    return KeymapOwners(app, (*views, *DIALOGS), KEYED_WIDGETS, KeyedTable)
