"""The installation's image mirrors, kept in the config folder's `images.toml`.

```toml
[mirrors]
"docker.io/gpustack/" = "registry.lab:5000/mirror/gpustack/"
```

Read at every launch and plan, so an edit (by hand or through `PUT /api/v1/image-mirrors`)
applies to the next start without restarting the server. A worker's own rules
(`Worker.image_mirrors`) come before these.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from gpustack_tui.domain.images import checked_mirrors

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover  (the same parser, as a package)
    import tomli as tomllib

HEADER = (
    "# Image mirrors of this installation: an image whose full reference starts with a key is\n"
    "# pulled as the value + the rest (the longest matching key wins; a worker's own rules come\n"
    "# first). Edit with `gpustack-tui mirrors` or by hand.\n"
)


class ImageSettingsError(ValueError):
    """The settings file cannot be read or holds a malformed rule; the message names the file."""


def read_mirrors(path: Path) -> dict[str, str]:
    """The installation's rules ({from: to}); empty when the file does not exist.
    ImageSettingsError naming the file and the rule when it is malformed."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ImageSettingsError(f"{path}: {exc}") from None
    mirrors = data.get("mirrors", {})
    if not isinstance(mirrors, dict) or not all(isinstance(v, str) for v in mirrors.values()):
        raise ImageSettingsError(f'{path}: [mirrors] must map prefixes to prefixes ("FROM" = "TO")')
    try:
        return checked_mirrors(mirrors)
    except ValueError as exc:
        raise ImageSettingsError(f"{path}: {exc}") from None


def write_mirrors(path: Path, mirrors: dict[str, str]) -> None:
    """Replace the file with `mirrors` (already checked), atomically, private to the user."""
    lines = [HEADER, "[mirrors]\n"]
    # JSON strings are valid TOML basic strings for the characters a prefix may hold.
    lines += [f"{json.dumps(k)} = {json.dumps(v)}\n" for k, v in sorted(mirrors.items())]
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text("".join(lines))
    os.replace(temporary, path)
