"""The `gpustack-tui` command line: a client of the management API (and the server's launcher)."""
