"""``python -m benchmark.cli …`` (as torchrun launches it) is ``w2s-bench …``."""

from __future__ import annotations

import sys

from benchmark.cli.main import main

sys.exit(main())
