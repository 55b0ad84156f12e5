"""``python -m video_pipeline``: see :mod:`video_pipeline.cli`."""

from __future__ import annotations

import sys

from video_pipeline.cli import main

sys.exit(main())
