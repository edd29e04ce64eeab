"""Image references: qualifying by docker's rules, mirror rules and their rewrite."""

from __future__ import annotations

import pytest

from gpustack_tui.backends.catalog import BUILTIN
from gpustack_tui.domain.images import parse_mirror, parse_mirrors, qualify, rewrite

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("reference", "qualified"),
    [
        ("busybox", "docker.io/library/busybox"),
        ("busybox:1.36", "docker.io/library/busybox:1.36"),
        (f"busybox@{DIGEST}", f"docker.io/library/busybox@{DIGEST}"),
        ("gpustack/runner:cuda12.9-vllm0.25.1", "docker.io/gpustack/runner:cuda12.9-vllm0.25.1"),
        ("docker.io/gpustack/runner:x", "docker.io/gpustack/runner:x"),
        ("docker.io/busybox", "docker.io/library/busybox"),
        ("index.docker.io/gpustack/runner:x", "docker.io/gpustack/runner:x"),
        ("quay.io/org/app:1", "quay.io/org/app:1"),
        ("registry.lab:5000/app", "registry.lab:5000/app"),
        ("registry.lab:5000/a/b/c:tag", "registry.lab:5000/a/b/c:tag"),
        (f"registry.lab:5000/app@{DIGEST}", f"registry.lab:5000/app@{DIGEST}"),
        ("localhost/app:dev", "localhost/app:dev"),
        ("localhost:5000/app", "localhost:5000/app"),
        ("ghcr.io/owner/image", "ghcr.io/owner/image"),
        ("  nginx:latest ", "docker.io/library/nginx:latest"),
    ],
)
def test_qualify_follows_dockers_rules(reference: str, qualified: str) -> None:
    assert qualify(reference) == qualified


@pytest.mark.parametrize("reference", ["", "  ", "has space:1", "a\nb"])
def test_qualify_refuses_what_is_no_reference(reference: str) -> None:
    with pytest.raises(ValueError, match="not an image reference"):
        qualify(reference)


MIRRORS = {
    "docker.io/": "mirror.lab/hub/",
    "docker.io/gpustack/": "registry.lab:5000/mirror/gpustack/",
    "quay.io/org/app": "registry.lab:5000/app",
}


@pytest.mark.parametrize(
    ("reference", "rewritten"),
    [
        # the longest matching prefix wins
        (
            "gpustack/runner:cuda12.9-vllm0.25.1",
            "registry.lab:5000/mirror/gpustack/runner:cuda12.9-vllm0.25.1",
        ),
        ("busybox:1.36", "mirror.lab/hub/library/busybox:1.36"),
        (f"gpustack/runner@{DIGEST}", f"registry.lab:5000/mirror/gpustack/runner@{DIGEST}"),
        ("quay.io/org/app:2", "registry.lab:5000/app:2"),
        # no rule matches: qualified only
        ("ghcr.io/owner/image:1", "ghcr.io/owner/image:1"),
        ("registry.lab:5000/app", "registry.lab:5000/app"),
    ],
)
def test_rewrite_uses_the_longest_matching_prefix(reference: str, rewritten: str) -> None:
    assert rewrite(reference, MIRRORS) == rewritten


def test_rewrite_without_rules_only_qualifies() -> None:
    assert rewrite("gpustack/runner:x") == "docker.io/gpustack/runner:x"
    assert rewrite("gpustack/runner:x", {}, {}) == "docker.io/gpustack/runner:x"


def test_the_first_rule_set_with_a_match_wins() -> None:
    worker = {"docker.io/": "worker.lab/"}
    installation = {"docker.io/gpustack/runner": "site.lab/runner"}
    assert rewrite("gpustack/runner:x", worker, installation) == "worker.lab/gpustack/runner:x"
    assert rewrite("quay.io/a/b", worker, {"quay.io/": "site.lab/q/"}) == "site.lab/q/a/b"


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        (
            "docker.io/gpustack/=registry.lab:5000/mirror/gpustack/",
            ("docker.io/gpustack/", "registry.lab:5000/mirror/gpustack/"),
        ),
        (" docker.io/ = localhost:5000/ ", ("docker.io/", "localhost:5000/")),
    ],
)
def test_parse_mirror(text: str, rule: tuple[str, str]) -> None:
    assert parse_mirror(text) == rule


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("docker.io/gpustack/", "write FROM=TO"),
        ("=registry.lab/", "from prefix is empty"),
        ("docker.io/=", "to prefix is empty"),
        ("gpustack/=registry.lab/gpustack/", "must start with a registry host"),
        ("docker.io/=mirror", "must start with a registry host"),
        ("docker.io/=mirror lab/", "is not part of an image name"),
    ],
)
def test_a_malformed_mirror_is_refused_naming_it(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why) as caught:
        parse_mirror(text)
    assert repr(text.strip()) in str(caught.value) or text.strip() in str(caught.value)


def test_parse_mirrors_keeps_the_last_rule_of_a_prefix() -> None:
    assert parse_mirrors(["docker.io/=a.lab/", "docker.io/=b.lab/"]) == {"docker.io/": "b.lab/"}


def test_every_catalog_image_is_fully_qualified() -> None:
    for backend in BUILTIN.values():
        for version in backend.versions:
            for image in version.images.values():
                assert image.startswith("docker.io/gpustack/runner:"), image
                assert qualify(image) == image
