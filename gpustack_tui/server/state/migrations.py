"""The state database's schema, as numbered steps. A step is never edited once released."""

from __future__ import annotations

import sqlite3

STEPS: list[str] = [
    # 1: workers, deployments and instances; rows hold the domain models as JSON.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE workers (
        name TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE deployments (
        name TEXT PRIMARY KEY,
        spec TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE instances (
        name TEXT PRIMARY KEY,
        deployment TEXT NOT NULL REFERENCES deployments(name) ON DELETE CASCADE,
        data TEXT NOT NULL
    );
    CREATE INDEX instances_by_deployment ON instances(deployment);
    """,
    # 2: API keys for the inference routes; only a SHA-256 of each key's secret is kept.
    """
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        secret_hash TEXT NOT NULL,
        scope TEXT NOT NULL,
        expires_at REAL,
        created_at REAL NOT NULL,
        last_used_at REAL,
        revoked_at REAL
    );
    """,
    # 3: the replica count a stopped deployment had, restored by Start.
    """
    ALTER TABLE deployments ADD COLUMN stopped_replicas INTEGER;
    """,
    # 4: backends defined by users (the UserBackend model as JSON).
    """
    CREATE TABLE custom_backends (
        name TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
    # 5: one name for backends defined by users throughout (they were "custom" here).
    """
    ALTER TABLE custom_backends RENAME TO user_backends;
    """,
]

SCHEMA_VERSION = len(STEPS)


class SchemaTooNew(RuntimeError):
    """The database was written by a newer gpustack-tui."""


def current_version(db: sqlite3.Connection) -> int:
    """The schema version stored in the database (0 for an empty one)."""
    has_meta = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if not has_meta:
        return 0
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(db: sqlite3.Connection) -> bool:
    """Bring the schema up to date inside the caller's transaction; True if the DB was new."""
    version = current_version(db)
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the state database has schema {version}, this gpustack-tui knows {SCHEMA_VERSION}: "
            "upgrade gpustack-tui or use another --data-dir"
        )
    for step in STEPS[version:]:
        for statement in step.split(";"):
            if statement.strip():
                db.execute(statement)
    db.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
        (str(SCHEMA_VERSION),),
    )
    return version == 0
