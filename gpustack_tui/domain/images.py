"""Container image references: qualify a name as docker does, and rewrite it for a mirror.

Stock podman refuses short names (`gpustack/runner:...`: "short-name did not resolve"), so every
image the server hands an agent is fully qualified first. An air-gapped site or a registry
mirror then rewrites the qualified reference by prefix: `docker.io/gpustack/` ->
`registry.lab:5000/mirror/gpustack/`, the longest matching prefix winning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

DEFAULT_REGISTRY = "docker.io"
OFFICIAL_NAMESPACE = "library"
_DOCKER_HUB_ALIASES = ("index.docker.io", "registry-1.docker.io")
# The characters a reference (or a prefix of one) may hold: host, port, path, tag, digest.
_REFERENCE_CHARS = re.compile(r"^[A-Za-z0-9._:/@+-]+$")


def is_registry_host(component: str) -> bool:
    """Whether the first path component of a reference names a registry, by docker's rule:
    it holds a dot or a port, or it is `localhost`."""
    return "." in component or ":" in component or component == "localhost"


def qualify(reference: str) -> str:
    """`reference` with its registry always written, by docker's rules: no registry part means
    docker.io, a single name on docker.io is an official image (`docker.io/library/NAME`). The
    tag or digest is kept as it is. ValueError for an empty reference or one with spaces."""
    ref = reference.strip()
    if not ref or not _REFERENCE_CHARS.match(ref):
        raise ValueError(f"{reference!r} is not an image reference")
    first, sep, rest = ref.partition("/")
    if sep and is_registry_host(first):
        host = DEFAULT_REGISTRY if first in _DOCKER_HUB_ALIASES else first
    else:
        host, rest = DEFAULT_REGISTRY, ref
    if host == DEFAULT_REGISTRY and "/" not in rest:
        rest = f"{OFFICIAL_NAMESPACE}/{rest}"
    return f"{host}/{rest}"


def check_mirror(from_prefix: str, to_prefix: str) -> str | None:
    """Why `from_prefix -> to_prefix` is no usable rule, or None. Both sides must be written
    with their registry host (`docker.io/gpustack/`, not `gpustack/`), as the qualified
    references they apply to are."""
    rule = f"{from_prefix}={to_prefix}"
    for side, value in (("from", from_prefix), ("to", to_prefix)):
        if not value:
            return f"image mirror {rule!r}: the {side} prefix is empty (write FROM=TO)"
        if not _REFERENCE_CHARS.match(value):
            return (
                f"image mirror {rule!r}: the {side} prefix {value!r} is not part of an image name"
            )
        host, sep, _rest = value.partition("/")
        if not sep or not is_registry_host(host):
            return (
                f"image mirror {rule!r}: the {side} prefix must start with a registry host and "
                f"'/', e.g. docker.io/gpustack/ or registry.lab:5000/mirror/"
            )
    return None


def parse_mirror(text: str) -> tuple[str, str]:
    """`FROM=TO` as the pair (from prefix, to prefix); ValueError naming the rule when it is
    malformed."""
    from_prefix, sep, to_prefix = text.strip().partition("=")
    if not sep:
        raise ValueError(f"image mirror {text!r}: write FROM=TO, e.g. docker.io/=mirror.lab/")
    problem = check_mirror(from_prefix.strip(), to_prefix.strip())
    if problem:
        raise ValueError(problem)
    return from_prefix.strip(), to_prefix.strip()


def parse_mirrors(texts: Iterable[str]) -> dict[str, str]:
    """Several `FROM=TO` rules as {from: to} (a later rule for the same prefix wins)."""
    return dict(parse_mirror(text) for text in texts)


def rewrite(reference: str, *mirror_sets: Mapping[str, str]) -> str:
    """The qualified `reference` rewritten by the first of `mirror_sets` with a matching rule
    (a worker's own rules before the installation's): the longest matching `from` prefix is
    replaced by its `to` prefix. Just qualified when no rule matches."""
    qualified = qualify(reference)
    for mirrors in mirror_sets:
        matching = [prefix for prefix in mirrors if qualified.startswith(prefix)]
        if matching:
            longest = max(matching, key=len)
            return mirrors[longest] + qualified[len(longest) :]
    return qualified


def checked_mirrors(mirrors: Mapping[str, str]) -> dict[str, str]:
    """`mirrors` ({from prefix: to prefix}) as a dict; ValueError naming the first malformed
    rule."""
    for from_prefix, to_prefix in mirrors.items():
        problem = check_mirror(from_prefix, to_prefix)
        if problem:
            raise ValueError(problem)
    return dict(mirrors)


def mirror_sets(
    worker: Mapping[str, str], installation: Mapping[str, str]
) -> tuple[Mapping[str, str], ...]:
    """The rule sets for a worker's images, in the order `rewrite` tries them: the worker's own
    rules win over the installation's."""
    return (worker, installation)
