"""The model ladder, encoders and the feature cache.

Importing the package also registers the paper-scale hub ladder (``hub_ladder``) into
``ENCODERS`` and ``MODELS``, so tasks can name its rungs.
"""

from __future__ import annotations

from benchmark.models import hub_ladder as _hub_ladder  # noqa: F401  (registers the rungs)
from benchmark.models.ladder import ENCODERS, MODELS, EncoderSource, ModelSpec

__all__ = ["ENCODERS", "MODELS", "EncoderSource", "ModelSpec"]
