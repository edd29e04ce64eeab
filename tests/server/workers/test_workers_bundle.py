"""The agent bundle shipped to workers: which files, and a hash that follows their content."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import paramiko
import pytest

from gpustack_tui.server.workers.bundle import agent_package_dir, collect_bundle
from gpustack_tui.server.workers.known_hosts import KnownHosts, fingerprint


def test_bundle_holds_the_agent_package() -> None:
    bundle = collect_bundle(include_pynvml=False)
    names = {f.relative for f in bundle.files}
    assert {"agent/__init__.py", "agent/__main__.py", "agent/PROTOCOL.md"} <= names
    assert all(name.startswith("agent/") for name in names)
    assert not any("__pycache__" in name for name in names)
    assert len(bundle.digest) == 64
    assert collect_bundle(include_pynvml=False).digest == bundle.digest  # stable


def test_hash_changes_with_any_file(tmp_path: Path) -> None:
    copy = tmp_path / "agent"
    shutil.copytree(agent_package_dir(), copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = collect_bundle(copy, include_pynvml=False).digest
    assert before == collect_bundle(include_pynvml=False).digest
    (copy / "__init__.py").write_text((copy / "__init__.py").read_text() + "\n# changed\n")
    assert collect_bundle(copy, include_pynvml=False).digest != before
    (copy / "notes.txt").write_text("not shipped")
    (copy / "__init__.py").write_text((agent_package_dir() / "__init__.py").read_text())
    assert collect_bundle(copy, include_pynvml=False).digest == before


def test_pynvml_is_shipped_beside_the_agent_when_importable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "pynvml.py").write_text("# a stand-in NVML binding module\n")
    without = collect_bundle(include_pynvml=True).digest
    monkeypatch.syspath_prepend(str(site))
    bundle = collect_bundle(include_pynvml=True)
    shipped = {f.relative: f.data for f in bundle.files}
    assert shipped["pynvml.py"] == b"# a stand-in NVML binding module\n"
    assert bundle.digest != without


def test_known_hosts_add_formats_and_protects_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config" / "known_hosts"
    path.parent.mkdir()
    path.write_text("gpu0 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA")  # no final newline
    path.chmod(0o644)
    key = paramiko.ECDSAKey.generate()
    known = KnownHosts(path, extra_paths=())
    known.add("gpu1", 22, key)
    known.add("gpu1", 2200, key)
    lines = path.read_text().splitlines()
    assert lines[1] == f"gpu1 {key.get_name()} {key.get_base64()}"
    assert lines[2] == f"[gpu1]:2200 {key.get_name()} {key.get_base64()}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    trusted = known.trusted_keys("gpu1", 2200)
    assert fingerprint(trusted[key.get_name()]) == fingerprint(key)
    assert known.trusted_keys("gpu2", 22) == {}


def test_known_hosts_merges_files_and_skips_bad_lines(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    mine, stale, other = (paramiko.ECDSAKey.generate() for _ in range(3))
    rsa = paramiko.RSAKey.generate(1024)
    hashed = paramiko.HostKeys.hash_host("[gpu1]:2200")
    ours.write_text(f"[gpu1]:2200 {mine.get_name()} {mine.get_base64()}\n")
    theirs.write_text(
        "garbage line\n"
        "gpu1 ssh-ed25519 AAAA-not-base64\n"
        f"@revoked [gpu1]:2200 {other.get_name()} {other.get_base64()}\n"
        f"{hashed} {stale.get_name()} {stale.get_base64()}\n"
        f"{hashed} {rsa.get_name()} {rsa.get_base64()}\n"
    )
    trusted = KnownHosts(ours, extra_paths=(theirs,)).trusted_keys("gpu1", 2200)
    # Ours wins for its key type; the user's file adds the types we do not have.
    assert fingerprint(trusted[mine.get_name()]) == fingerprint(mine)
    assert fingerprint(trusted["ssh-rsa"]) == fingerprint(rsa)
    assert len(trusted) == 2
