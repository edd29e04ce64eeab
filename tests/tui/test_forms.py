"""Deploy-form validation (pure): the spec's rules, reported per field."""

from __future__ import annotations

import pytest

from gpustack_tui.tui.forms import DeployFormValues, FormErrors, build_spec, env_lines

GOOD = DeployFormValues(
    local_path="/models/qwen",
    name="qwen",
    replicas="2",
    command="serve --model {model_path} --port {port}",
    env="# comment\nHF_HUB_OFFLINE=1\n\nCUDA_VISIBLE_DEVICES=0\n",
    vram_claim_gib="7.5",
    generic_proxy=True,
)


def test_a_complete_form_gives_the_spec():
    spec = build_spec(GOOD)
    assert spec.name == "qwen"
    assert spec.source.local_path == "/models/qwen"
    assert spec.replicas == 2
    assert spec.advanced.env == {"HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": "0"}
    assert spec.advanced.vram_claim_gib == 7.5
    assert spec.advanced.generic_proxy is True
    assert spec.backend == "custom"


def errors_of(**changes: str) -> dict[str, str]:
    values = DeployFormValues(**{**GOOD.__dict__, **changes})
    with pytest.raises(FormErrors) as caught:
        build_spec(values)
    return caught.value.errors


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"name": "Bad Name"}, "name", "lowercase"),
        ({"local_path": "  "}, "local_path", "path"),
        ({"replicas": "two"}, "replicas", "whole number"),
        ({"replicas": "-1"}, "replicas", "greater than or equal to 0"),
        ({"command": ""}, "command", "command"),
        ({"env": "JUSTANAME"}, "env", "NAME=VALUE"),
        ({"env": "1BAD=x"}, "env", "invalid"),
        ({"vram_claim_gib": "lots"}, "vram_claim_gib", "GiB"),
        ({"vram_claim_gib": "-3"}, "vram_claim_gib", "greater than or equal to 0"),
    ],
)
def test_each_mistake_is_reported_on_its_field(changes, field, words):
    errors = errors_of(**changes)
    assert list(errors) == [field]
    assert words in errors[field]


def test_every_field_in_error_is_reported_first_field_first():
    caught = FormErrors({"env": "e", "name": "n"})
    assert caught.first_field == "name"
    errors = errors_of(name="", env="nope", replicas="x")
    assert list(errors) == ["name", "replicas", "env"]


def test_env_lines_skip_blanks_and_comments():
    assert env_lines("A=1\n\n  # no\n B=2 \n") == ["A=1", "B=2"]
