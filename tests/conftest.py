"""Shared fixtures: each lives in tests/fixtures/, registered here."""

pytest_plugins = [
    "tests.fixtures.sshd",
    "tests.fixtures.backend",
    "tests.fixtures.server",
    "tests.fixtures.hub",
    "tests.fixtures.chatty",
]
