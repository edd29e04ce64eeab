"""The server's state in SQLite (WAL, versioned schema). Only the server opens this file.

Every write is one transaction under a lock, so the API handlers and the reconciler, which share
one event loop and a few worker threads, always see a consistent state.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import Failure, Instance, InstanceState, Progress
from gpustack_tui.domain.phases import begin, move
from gpustack_tui.domain.user_backend import UserBackend
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.domain.worker import Gpu, Worker, WorkerState
from gpustack_tui.server.state.migrations import migrate


class NotFound(KeyError):
    """No row of that kind has that name."""


class AlreadyExists(ValueError):
    """A row of that kind already has that name."""


class Store:
    """Typed access to the state database."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA busy_timeout=5000")
        with self._tx():
            self.created = migrate(self._db)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _insert(
        self, sql: str, params: tuple[object, ...] | Mapping[str, object], taken: str
    ) -> None:
        """Run one INSERT; AlreadyExists(`taken`) when the row's unique key is taken."""
        try:
            with self._tx() as db:
                db.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise AlreadyExists(taken) from exc

    def _query(self, sql: str, *args: object) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- workers ----------------------------------------------------------------------------

    def add_worker(self, worker: Worker) -> Worker:
        """Insert a worker; AlreadyExists if the name is taken."""
        self._insert(
            "INSERT INTO workers (name, data, created_at) VALUES (?, ?, ?)",
            (worker.name, worker.model_dump_json(), time.time()),
            f"a worker named {worker.name!r} already exists",
        )
        return worker

    def save_worker(self, worker: Worker) -> None:
        """Replace a worker's row (no-op if it was removed meanwhile)."""
        with self._tx() as db:
            db.execute(
                "UPDATE workers SET data = ? WHERE name = ?",
                (worker.model_dump_json(), worker.name),
            )

    def get_worker(self, name: str) -> Worker:
        """One worker; NotFound if there is none of that name."""
        rows = self._query("SELECT data FROM workers WHERE name = ?", name)
        if not rows:
            raise NotFound(f"no worker named {name!r}")
        return Worker.model_validate_json(rows[0]["data"])

    def list_workers(self) -> list[Worker]:
        """Every worker, by name."""
        rows = self._query("SELECT data FROM workers ORDER BY name")
        return [Worker.model_validate_json(r["data"]) for r in rows]

    def remove_worker(self, name: str) -> None:
        """Delete a worker row; NotFound if absent."""
        with self._tx() as db:
            if db.execute("DELETE FROM workers WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound(f"no worker named {name!r}")

    def set_worker_status(
        self,
        name: str,
        state: WorkerState,
        message: str = "",
        gpus: list[Gpu] | None = None,
        cpu_count: int | None = None,
        memory_total: int | None = None,
        agent_version: str | None = None,
    ) -> None:
        """Record what the worker's session learned about it."""
        with self._lock:
            try:
                worker = self.get_worker(name)
            except NotFound:
                return
            worker.state = state
            worker.state_message = message
            if gpus is not None:
                worker.gpus = gpus
            if cpu_count is not None:
                worker.cpu_count = cpu_count
            if memory_total is not None:
                worker.memory_total = memory_total
            if agent_version is not None:
                worker.agent_version = agent_version
            if state is WorkerState.READY:
                worker.last_seen = time.time()
            self.save_worker(worker)

    # -- deployments ------------------------------------------------------------------------

    def create_deployment(self, spec: DeploymentSpec) -> None:
        """Insert a deployment; AlreadyExists if the name is taken."""
        now = time.time()
        self._insert(
            "INSERT INTO deployments (name, spec, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (spec.name, spec.model_dump_json(), now, now),
            f"a deployment named {spec.name!r} already exists",
        )

    def update_deployment(self, spec: DeploymentSpec) -> None:
        """Replace a deployment's spec; NotFound if absent."""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE deployments SET spec = ?, updated_at = ? WHERE name = ?",
                (spec.model_dump_json(), time.time(), spec.name),
            )
            if cursor.rowcount == 0:
                raise NotFound(f"no deployment named {spec.name!r}")

    def get_spec(self, name: str) -> DeploymentSpec:
        """A deployment's spec; NotFound if absent."""
        rows = self._query("SELECT spec FROM deployments WHERE name = ?", name)
        if not rows:
            raise NotFound(f"no deployment named {name!r}")
        return DeploymentSpec.model_validate_json(rows[0]["spec"])

    def list_specs(self) -> list[DeploymentSpec]:
        """Every deployment's spec, by name."""
        rows = self._query("SELECT spec FROM deployments ORDER BY name")
        return [DeploymentSpec.model_validate_json(r["spec"]) for r in rows]

    def deployment_view(self, name: str) -> DeploymentView:
        """A deployment joined with its instances; NotFound if absent."""
        rows = self._query("SELECT * FROM deployments WHERE name = ?", name)
        if not rows:
            raise NotFound(f"no deployment named {name!r}")
        return self._view(rows[0], self.list_instances(deployment=name))

    def list_deployment_views(self) -> list[DeploymentView]:
        """Every deployment with its instances."""
        instances = self.list_instances()
        rows = self._query("SELECT * FROM deployments ORDER BY name")
        return [self._view(r, [i for i in instances if i.deployment == r["name"]]) for r in rows]

    @staticmethod
    def _view(row: sqlite3.Row, instances: list[Instance]) -> DeploymentView:
        return DeploymentView(
            spec=DeploymentSpec.model_validate_json(row["spec"]),
            instances=instances,
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            stopped_replicas=row["stopped_replicas"],
        )

    def stop_deployment(self, name: str) -> int | None:
        """Set replicas to 0, remembering the count it had (a count remembered by an earlier
        stop is kept); the remembered count. NotFound if absent."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT spec, stopped_replicas FROM deployments WHERE name = ?", (name,)
            ).fetchall()
            if not rows:
                raise NotFound(f"no deployment named {name!r}")
            spec = DeploymentSpec.model_validate_json(rows[0]["spec"])
            remembered = spec.replicas or rows[0]["stopped_replicas"]
            spec.replicas = 0
            db.execute(
                "UPDATE deployments SET spec = ?, stopped_replicas = ?, updated_at = ?"
                " WHERE name = ?",
                (spec.model_dump_json(), remembered, time.time(), name),
            )
        return remembered

    def start_deployment(self, name: str, replicas: int | None = None) -> int:
        """Set replicas to `replicas`, else to the count remembered by the last stop, else 1,
        and forget the remembered count; a deployment with replicas already is left as it is
        unless `replicas` is given. The replica count now. NotFound if absent."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT spec, stopped_replicas FROM deployments WHERE name = ?", (name,)
            ).fetchall()
            if not rows:
                raise NotFound(f"no deployment named {name!r}")
            spec = DeploymentSpec.model_validate_json(rows[0]["spec"])
            if replicas is None:
                replicas = spec.replicas or rows[0]["stopped_replicas"] or 1
            spec.replicas = replicas
            db.execute(
                "UPDATE deployments SET spec = ?, stopped_replicas = NULL, updated_at = ?"
                " WHERE name = ?",
                (spec.model_dump_json(), time.time(), name),
            )
        return replicas

    def delete_deployment(self, name: str) -> list[Instance]:
        """Delete a deployment and its instance rows; returns the instances it had."""
        with self._tx() as db:
            instances = self.list_instances(deployment=name)
            if db.execute("DELETE FROM deployments WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound(f"no deployment named {name!r}")
        return instances

    # -- instances --------------------------------------------------------------------------

    def add_instance(self, instance: Instance) -> None:
        """Insert an instance row."""
        now = time.time()
        instance.created_at = instance.created_at or now
        instance.updated_at = now
        begin(instance, now)
        with self._tx() as db:
            db.execute(
                "INSERT INTO instances (name, deployment, data) VALUES (?, ?, ?)",
                (instance.name, instance.deployment, instance.model_dump_json()),
            )

    def save_instance(self, instance: Instance) -> bool:
        """Replace an instance's row; False if it was deleted meanwhile."""
        instance.updated_at = time.time()
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE instances SET data = ? WHERE name = ?",
                (instance.model_dump_json(), instance.name),
            )
        return cursor.rowcount == 1

    def get_instance(self, name: str) -> Instance:
        """One instance; NotFound if absent."""
        rows = self._query("SELECT data FROM instances WHERE name = ?", name)
        if not rows:
            raise NotFound(f"no instance named {name!r}")
        return Instance.model_validate_json(rows[0]["data"])

    def list_instances(
        self, deployment: str | None = None, worker: str | None = None
    ) -> list[Instance]:
        """Instances, optionally of one deployment or on one worker (as leader or follower),
        oldest first."""
        if deployment is None:
            rows = self._query("SELECT data FROM instances ORDER BY rowid")
        else:
            rows = self._query(
                "SELECT data FROM instances WHERE deployment = ? ORDER BY rowid", deployment
            )
        instances = [Instance.model_validate_json(r["data"]) for r in rows]
        if worker is not None:
            instances = [i for i in instances if worker in i.all_workers]
        return instances

    def delete_instance(self, name: str) -> Instance:
        """Delete an instance row and return what it was; NotFound if absent."""
        with self._tx() as db:
            instance = self.get_instance(name)
            db.execute("DELETE FROM instances WHERE name = ?", (name,))
        return instance

    def set_instance_state(
        self,
        name: str,
        state: InstanceState,
        message: str = "",
        *,
        phase: str | None = None,
        failure: Failure | None = None,
        progress: Progress | None = None,
        **fields: object,
    ) -> Instance | None:
        """Move an instance to `state` (and set other fields), recording its phases and
        failures through `domain.phases.move` (the one place a state changes); None if it no
        longer exists."""
        with self._lock:
            try:
                instance = self.get_instance(name)
            except NotFound:
                return None
            now = time.time()
            move(instance, state, message, now, phase=phase, failure=failure, progress=progress)
            for key, value in fields.items():
                setattr(instance, key, value)
            self.save_instance(instance)
            return instance

    # -- API keys ---------------------------------------------------------------------------

    def change_count(self) -> int:
        """A number that grows with every row written: caches compare it to know they are stale."""
        return self._db.total_changes

    def add_api_key(self, row: dict[str, object]) -> None:
        """Insert an API key row (id, name, secret_hash, scope, expires_at, created_at);
        AlreadyExists if the name is taken."""
        self._insert(
            "INSERT INTO api_keys (id, name, secret_hash, scope, expires_at, created_at)"
            " VALUES (:id, :name, :secret_hash, :scope, :expires_at, :created_at)",
            row,
            f"an API key named {row['name']!r} already exists",
        )

    def list_api_keys(self) -> list[dict[str, Any]]:
        """Every API key row (hashes included), oldest first: SQLite's values, as stored."""
        return [dict(r) for r in self._query("SELECT * FROM api_keys ORDER BY created_at, name")]

    def revoke_api_key(self, name: str) -> None:
        """Mark a key revoked (kept, so that its use is refused as revoked); NotFound if absent."""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE name = ?",
                (time.time(), name),
            )
            if cursor.rowcount == 0:
                raise NotFound(f"no API key named {name!r}")

    def touch_api_keys(self, used: dict[str, float]) -> None:
        """Record when keys were last used (key id -> unix time)."""
        with self._tx() as db:
            db.executemany(
                "UPDATE api_keys SET last_used_at = MAX(COALESCE(last_used_at, 0), ?) WHERE id = ?",
                [(at, key_id) for key_id, at in used.items()],
            )

    # -- backends defined by users ----------------------------------------------------------

    def _using_backend(self, db: sqlite3.Connection, name: str) -> dict[str, str]:
        rows = db.execute(
            "SELECT name, json_extract(spec, '$.backend_version') AS version FROM deployments"
            " WHERE json_extract(spec, '$.backend') = ? ORDER BY name",
            (name,),
        ).fetchall()
        return {r["name"]: r["version"] or "auto" for r in rows}

    def deployments_using_backend(self, name: str) -> dict[str, str]:
        """{deployment: backend_version} of the deployments that name backend `name`."""
        with self._lock:
            return self._using_backend(self._db, name)

    def add_user_backend(self, backend: UserBackend) -> None:
        """Insert a user backend; AlreadyExists if the name is taken."""
        now = time.time()
        self._insert(
            "INSERT INTO user_backends (name, data, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (backend.name, backend.model_dump_json(), now, now),
            f"a backend named {backend.name!r} already exists",
        )

    def put_user_backend(self, backend: UserBackend) -> bool:
        """Insert or replace a user backend; True if it was new. BackendInUse (nothing written)
        when a deployment names a version the new definition drops."""
        now = time.time()
        with self._tx() as db:
            known = set(backend.version_names())
            stranded = {
                d: v
                for d, v in self._using_backend(db, backend.name).items()
                if v != "auto" and v not in known
            }
            if stranded:
                pinned = ", ".join(f"{d} ({v})" for d, v in stranded.items())
                raise BackendInUse(
                    f"backend {backend.name!r} would lose versions that deployments use: "
                    f"{pinned}; change their backend_version first",
                    list(stranded),
                )
            cursor = db.execute(
                "UPDATE user_backends SET data = ?, updated_at = ? WHERE name = ?",
                (backend.model_dump_json(), now, backend.name),
            )
            if cursor.rowcount:
                return False
            db.execute(
                "INSERT INTO user_backends (name, data, created_at, updated_at)"
                " VALUES (?, ?, ?, ?)",
                (backend.name, backend.model_dump_json(), now, now),
            )
        return True

    def get_user_backend(self, name: str) -> UserBackend:
        """One user backend; NotFound if there is none of that name."""
        rows = self._query("SELECT data FROM user_backends WHERE name = ?", name)
        if not rows:
            raise NotFound(f"no backend named {name!r}")
        return UserBackend.model_validate_json(rows[0]["data"])

    def list_user_backends(self) -> list[UserBackend]:
        """Every user backend, by name."""
        rows = self._query("SELECT data FROM user_backends ORDER BY name")
        return [UserBackend.model_validate_json(r["data"]) for r in rows]

    def delete_user_backend(self, name: str) -> None:
        """Delete a user backend; NotFound if absent, BackendInUse (nothing deleted) while
        deployments name it."""
        with self._tx() as db:
            users = self._using_backend(db, name)
            if users:
                raise BackendInUse(
                    f"backend {name!r} is used by deployment(s) {', '.join(users)}: "
                    "delete them or move them to another backend first",
                    list(users),
                )
            if db.execute("DELETE FROM user_backends WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound(f"no backend named {name!r}")


class BackendInUse(ValueError):
    """A user backend that deployments still need; `deployments` names them."""

    def __init__(self, message: str, deployments: list[str]) -> None:
        super().__init__(message)
        self.deployments = deployments
