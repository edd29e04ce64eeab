"""The OpenAI-compatible test backend: gpustack_tui/demo/backend.py, run as a script.

Tests start it by this path (`python tests/openai_test_backend.py --port P --model-name NAME`);
the code lives in the package, where `gpustack-tui demo` uses it too. See that module for the
endpoints and the startup line.
"""

from __future__ import annotations

import sys

from gpustack_tui.demo.backend import (  # noqa: F401 - re-exported for tests
    EMBEDDING_DIM,
    BackendServer,
    Handler,
    embedding,
    main,
)

if __name__ == "__main__":
    sys.exit(main())
