"""The model ladder, encoders and the feature cache."""

from __future__ import annotations

from benchmark.models.ladder import ENCODERS, MODELS, EncoderSource, ModelSpec

__all__ = ["ENCODERS", "MODELS", "EncoderSource", "ModelSpec"]
