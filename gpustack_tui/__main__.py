"""`python -m gpustack_tui` is the `gpustack-tui` command."""

from gpustack_tui.cli.main import main

main()
