"""`apply -f` parsing and validation, and `get` output that `apply` reads back."""

from __future__ import annotations

import json

import pytest
import yaml

from gpustack_tui.cli.common import CliError
from gpustack_tui.cli.files_cmd import dump_spec, parse_specs
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.views import DeploymentView
from tests.cli.conftest import FULL_YAML, not_found


def test_full_yaml_parses_every_section() -> None:
    [spec] = parse_specs(FULL_YAML, "x.yaml")
    assert spec.performance.extended_kv_cache.ram_to_vram_ratio == 1.5
    assert spec.scheduling.placement == "binpack"
    assert spec.scheduling.worker_selector == {"zone": "a"}
    assert spec.scheduling.gpus_per_replica == 2
    assert spec.advanced.restart_on_error is False
    assert spec.advanced.generic_proxy is True


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_dump_then_parse_round_trips(fmt: str) -> None:
    [spec] = parse_specs(FULL_YAML, "x.yaml")
    text = dump_spec(spec, fmt)
    assert parse_specs(text, "out") == [spec]
    loaded = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    assert list(loaded) == list(DeploymentSpec.model_fields)  # form order, every section


def test_unknown_key_is_refused_with_its_path() -> None:
    text = FULL_YAML.replace("  command:", "  comand:")
    with pytest.raises(CliError) as caught:
        parse_specs(text, "x.yaml")
    assert caught.value.exit_code == 2
    assert "advanced.comand: unknown key" in caught.value.details


def test_every_problem_gets_a_line() -> None:
    text = "name: q\nsource: {local_path: /m}\nreplicas: -1\nscheduling: {placment: spread}\n"
    text += "advanced: {command: x, env: {PORT: 8080}}\n"
    with pytest.raises(CliError) as caught:
        parse_specs(text, "x.yaml")
    details = caught.value.details
    assert any(line.startswith("replicas: ") for line in details)
    assert "scheduling.placment: unknown key" in details
    assert any(line.startswith("advanced.env.PORT: must be a string") for line in details)


def test_syntax_error_and_non_mapping_are_usage_errors() -> None:
    with pytest.raises(CliError) as caught:
        parse_specs("name: [unclosed\n", "x.yaml")
    assert caught.value.exit_code == 2
    with pytest.raises(CliError) as caught:
        parse_specs("- just\n- a list\n", "x.yaml")
    assert "must be a mapping" in caught.value.message
    with pytest.raises(CliError):
        parse_specs("", "x.yaml")


def test_json_and_several_documents() -> None:
    doc = {"name": "a", "source": {"local_path": "/m"}, "advanced": {"command": "x"}}
    assert parse_specs(json.dumps(doc), "x.json")[0].name == "a"
    both = yaml.safe_dump(doc) + "---\n" + yaml.safe_dump({**doc, "name": "b"})
    assert [s.name for s in parse_specs(both, "x.yaml")] == ["a", "b"]
    with pytest.raises(CliError, match="more than once"):
        parse_specs(yaml.safe_dump(doc) + "---\n" + yaml.safe_dump(doc), "x.yaml")


def test_apply_from_stdin_reports_the_outcome(run, fake_client) -> None:
    fake_client.responses["get_deployment"] = not_found("qwen3")
    fake_client.responses["apply_deployment"] = lambda spec: DeploymentView(spec=spec)
    result = run("apply", "-f", "-", input=FULL_YAML)
    assert result.exit_code == 0, result.output
    assert "deployment qwen3 created" in result.stdout
    [(args, _)] = fake_client.called("apply_deployment")
    assert args[0] == parse_specs(FULL_YAML, "-")[0]


def test_apply_invalid_file_sends_nothing(run, fake_client, tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(FULL_YAML.replace("  command:", "  comand:"))
    result = run("apply", "-f", str(path))
    assert result.exit_code == 2
    assert "advanced.comand: unknown key" in result.stderr
    assert "Traceback" not in result.output
    assert fake_client.calls == []


def test_get_prints_yaml_that_apply_reads(run, fake_client) -> None:
    [spec] = parse_specs(FULL_YAML, "x.yaml")
    fake_client.responses["get_deployment"] = DeploymentView(spec=spec)
    result = run("get", "qwen3", "-o", "yaml")
    assert result.exit_code == 0
    assert parse_specs(result.stdout, "out") == [spec]
    result = run("get", "qwen3", "-o", "json")
    assert DeploymentSpec.model_validate_json(result.stdout) == spec
