"""The gpustack-tui worker agent: a small JSON-lines server that runs on each GPU machine.

Stdlib only (plus optional `pynvml`), Python >= 3.8. It never imports `gpustack_tui`: the server
uploads this folder to each worker and runs it as `python3 -u -m agent`. See PROTOCOL.md.
"""

AGENT_VERSION = "0.1.0"
PROTOCOL_VERSION = 1
