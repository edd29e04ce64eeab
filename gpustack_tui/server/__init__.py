"""The controller daemon (`gpustack-tui server`): the single writer of an installation's state.

Read it in six rooms:

- `state/`    the SQLite store and its numbered migrations (only the server opens the database);
- `control/`  the reconcile loop and what it calls: lifecycle rules, placement, model facts,
              model downloads, starting an instance's workloads, health checks;
- `workers/`  the connections to the worker agents (SSH or local), their sessions and log relay;
- `access/`   the management token and the inference API keys;
- `proxy/`    serving: the lean HTTP listener, the OpenAI routes and the generic proxy, the
              route table and usage counts;
- `api/`      the management API's routers (FastAPI).

`app` wires them into one ASGI app, `daemon` runs it, `context` is what the handlers share.
"""
