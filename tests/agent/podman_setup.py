"""Real podman for the tests, configured for this machine without touching its global config.

Everything lives under one temp folder: containers.conf and storage.conf (pointed to by
CONTAINERS_CONF and CONTAINERS_STORAGE_CONF), the image store (vfs driver: no overlay mounts
needed), the run root and the events log. The image is imported from a rootfs tarball built from
local files (Debian's static busybox), so no registry and no internet are involved.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

IMAGE = "localhost/gpustack-test-busybox:1"
BUSYBOX_APPLETS = ("sh", "echo", "sleep", "cat", "df", "kill", "env", "ls", "true")
INSTALL_HINT = "install them with `apt-get install -y podman runc busybox-static` (scripts/test.sh)"

CONTAINERS_CONF = """\
[containers]
# no ulimit override: the sandbox's limits are below podman's defaults
default_ulimits = []
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{root}/events.log"
tmp_dir = "{root}/tmp"
"""

STORAGE_CONF = """\
[storage]
driver = "vfs"
graphroot = "{root}/storage"
runroot = "{root}/run"
"""


def static_busybox() -> str:
    """The path of a statically linked busybox, or AssertionError saying how to get one."""
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        if os.path.isfile(candidate):
            with open(candidate, "rb") as handle:
                data = handle.read()
            if b"/ld-linux" not in data:  # no program interpreter: static
                return candidate
    raise AssertionError(f"no static busybox for the test image: {INSTALL_HINT}")


def build_rootfs(
    folder: Path,
    applets: tuple[str, ...] = BUSYBOX_APPLETS,
    programs: dict[str, str] | None = None,
) -> Path:
    """A tarball of a minimal root file system: busybox and its `applets` in /bin, and
    `programs` (name -> shell script) as executables in /bin."""
    root = folder / "rootfs"
    (root / "bin").mkdir(parents=True)
    for name in ("tmp", "proc", "sys", "dev", "etc", "models"):
        (root / name).mkdir()
    shutil.copy2(static_busybox(), root / "bin" / "busybox")
    for applet in applets:
        (root / "bin" / applet).symlink_to("busybox")
    for name, script in (programs or {}).items():
        (root / "bin" / name).write_text(script)
        (root / "bin" / name).chmod(0o755)
    tarball = folder / "rootfs.tar"
    with tarfile.open(tarball, "w") as tar:
        tar.add(root, arcname=".")
    return tarball


def podman_env(folder: Path) -> dict[str, str]:
    """Configure podman under `folder`, import the test image; the variables to run it with."""
    if shutil.which("podman") is None or shutil.which("runc") is None:
        raise AssertionError(f"podman and runc are needed for the container tests: {INSTALL_HINT}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tmp").mkdir(exist_ok=True)
    (folder / "containers.conf").write_text(CONTAINERS_CONF.format(root=folder))
    (folder / "storage.conf").write_text(STORAGE_CONF.format(root=folder))
    env = {
        "CONTAINERS_CONF": str(folder / "containers.conf"),
        "CONTAINERS_STORAGE_CONF": str(folder / "storage.conf"),
    }
    tarball = build_rootfs(folder)
    done = podman(env, "import", str(tarball), IMAGE)
    assert done.returncode == 0, f"podman import failed: {done.stderr}"
    return env


def podman(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run podman with the test configuration."""
    return subprocess.run(
        ["podman", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def teardown(env: dict[str, str], folder: Path) -> None:
    """Remove every container of the test store, then the store."""
    podman(env, "rm", "--all", "--force", "--time", "0")
    podman(env, "rmi", "--all", "--force")
    shutil.rmtree(folder, ignore_errors=True)


def import_image(
    env: dict[str, str],
    folder: Path,
    tag: str,
    applets: tuple[str, ...],
    programs: dict[str, str],
) -> None:
    """Import a busybox image holding `programs` into the test store under `tag`."""
    folder.mkdir(parents=True, exist_ok=True)
    done = podman(env, "import", str(build_rootfs(folder, applets, programs)), tag)
    assert done.returncode == 0, f"podman import failed: {done.stderr}"
