"""Backend parameters: the three formats and the reference's acceptance cases (§11, 1-4, 16)."""

from __future__ import annotations

import pytest

from gpustack_tui.domain.backend_params import (
    BackendParameterError,
    flag_names,
    flatten,
    is_flag,
    to_format,
    validate_for_backend,
    value_of,
)


@pytest.mark.parametrize(
    ("items", "tokens"),
    [
        (["--ctx-size 1024"], ["--ctx-size", "1024"]),
        (['--a "x y"', '--b="x y"'], ["--a", "x y", "--b=x y"]),
        (["--tp 2 \\", "--max-model-len 8192 \\"], ["--tp", "2", "--max-model-len", "8192"]),
        (["--max-model-len=8192"], ["--max-model-len=8192"]),
        (["--temperature", "0.2"], ["--temperature", "0.2"]),
        (["--temperature", "-0.5"], ["--temperature", "-0.5"]),
        (
            ['--kv-transfer-config={"kv_connector": "LMCacheConnectorV1", "kv_role": "kv_both"}'],
            ['--kv-transfer-config={"kv_connector": "LMCacheConnectorV1", "kv_role": "kv_both"}'],
        ),
        (
            ['--speculative-config={"method": "ngram", "x": [1, 2]} --enforce-eager'],
            ['--speculative-config={"method": "ngram", "x": [1, 2]}', "--enforce-eager"],
        ),
        (['{"a": "b c"}'], ['{"a": "b c"}']),
        (["/models/with space"], ["/models/with space"]),
        (["--lora-modules a=/x b=/y"], ["--lora-modules", "a=/x", "b=/y"]),
        (["-ngl 99"], ["-ngl", "99"]),
        (["  ", ""], []),
    ],
)
def test_flatten(items: list[str], tokens: list[str]) -> None:
    assert flatten(items) == tokens


def test_equal_format_keeps_negative_values_and_multi_value_clusters() -> None:
    assert to_format(flatten(["--temperature -0.5"]), "equal") == ["--temperature=-0.5"]
    assert to_format(["--lora-modules", "a=/x", "b=/y"], "equal") == [
        "--lora-modules", "a=/x", "b=/y"
    ]  # fmt: skip
    assert to_format(["-ngl", "99"], "equal") == ["-ngl=99"]
    assert to_format(["--k=v", "--flag"], "space") == ["--k", "v", "--flag"]


def test_unbalanced_quote_names_the_item() -> None:
    with pytest.raises(BackendParameterError, match=r"--a \"x y.*quotes"):
        flatten(['--a "x y'])


@pytest.mark.parametrize(
    "item", ["--port 9000", "--port=9000", "--host 0.0.0.0", "--served-model-name x", "--api-key k"]
)
def test_server_owned_flags_are_refused_on_builtin_backends(item: str) -> None:
    with pytest.raises(BackendParameterError, match="set by gpustack-tui"):
        validate_for_backend([item], builtin=True)
    assert validate_for_backend([item], builtin=False) == flatten([item])


def test_value_lookup_and_flag_names() -> None:
    tokens = flatten(["--tp 2", "--max-model-len=4096", "--enforce-eager"])
    assert value_of(tokens, "--tensor-parallel-size", "--tp") == "2"
    assert value_of(tokens, "--max-model-len") == "4096"
    assert value_of(tokens, "--enforce-eager") == ""
    assert value_of(tokens, "--pp") is None
    assert flag_names(tokens) == {"--tp", "--max-model-len", "--enforce-eager"}
    assert not is_flag("-0.5") and not is_flag("--") and is_flag("-x")
