"""Runtimes that run a workload: `process` (a supervised process), `podman` and `docker`.

`agent.workloads` answers the protocol's methods and picks the runtime of each workload;
`detect` finds the worker's default; `argv` builds container command lines (pure);
`process` and `container` do the work.
"""
