"""The model ladder: every weak supervisor and strong student a task may name.

An *encoder* is a set of transformer weights (an asset or a hub id at a pinned revision); a
*model* is what a task names: an encoder read at one layer (so "the first 3 layers of
MiniLM-L6" is MiniLM-L6's weights probed at hidden state 3), or the classical tf-idf
supervisor. All hidden states are cached together, so truncated models cost nothing extra.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from benchmark.core.registry import Registry


class EncoderSource(BaseModel):
    """Where an encoder's weights and tokenizer come from."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    format: Literal["hf-dir", "onnx-bert", "gguf", "hub"]
    asset: str | None = None            # hf-dir / onnx-bert / gguf: asset holding the weights
    gguf_file: str | None = None        # gguf: the file inside the asset
    tokenizer_asset: str | None = None  # onnx-bert: asset whose tokenizer and config to reuse
    hub_id: str | None = None           # hub: repo id or a local folder
    revision: str | None = None         # hub: pinned commit (None: unpinned, refuses to load)
    num_layers: int
    hidden_size: int
    max_length: int = 128
    pooling: Literal["mean", "last"] = "mean"   # last: the last real token (decoders)

    @model_validator(mode="after")
    def _check_source(self) -> EncoderSource:
        if self.format == "hub" and not self.hub_id:
            raise ValueError(f"encoder {self.name!r}: a hub encoder needs hub_id")
        if self.format != "hub" and not self.asset:
            raise ValueError(f"encoder {self.name!r}: format {self.format} needs an asset")
        if self.format == "onnx-bert" and not self.tokenizer_asset:
            raise ValueError(f"encoder {self.name!r}: onnx-bert needs tokenizer_asset")
        if (self.format == "gguf") != (self.gguf_file is not None):
            raise ValueError(f"encoder {self.name!r}: `gguf_file` goes with format gguf")
        return self

    @property
    def decoder(self) -> bool:
        """A causal LM read for its hidden states (no pooler; pads with end-of-sequence)."""
        return self.format == "gguf"


class ModelSpec(BaseModel):
    """A rung of the ladder, as tasks name it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    family: str
    # rule: declared by the task (keywords); ensemble: the task's several `weak_models`
    kind: Literal["tfidf", "encoder", "rule", "ensemble"]
    description: str
    encoder: str | None = None
    layer: int | None = None   # hidden-state index probed; None means the last layer
    # "ceiling": the probed hidden state is chosen at freeze time, per task, as the one whose
    # probe on gold labels scores best on held-out gold of split B (recorded in references)
    layer_search: Literal["ceiling"] | None = None
    params: int | None = None  # transformer parameters used up to ``layer`` (None: data-dependent)
    tier: Literal["default", "large", "ladder", "paper"] = "default"  # paper: GPU-scale hub

    @model_validator(mode="after")
    def _check_kind(self) -> ModelSpec:
        if self.kind == "encoder" and not self.encoder:
            raise ValueError(f"model {self.name!r}: an encoder model needs `encoder`")
        return self


ENCODERS: Registry[EncoderSource] = Registry("encoder")
MODELS: Registry[ModelSpec] = Registry("model")

for _enc in [
    EncoderSource(name="all-minilm-l6-v2", format="hf-dir", asset="all-minilm-l6-v2",
                  num_layers=6, hidden_size=384),
    EncoderSource(name="paraphrase-minilm-l3-v2", format="onnx-bert",
                  asset="paraphrase-minilm-l3-v2-onnx", tokenizer_asset="all-minilm-l6-v2",
                  num_layers=3, hidden_size=384),
    EncoderSource(name="all-mpnet-base-v2", format="hf-dir", asset="all-mpnet-base-v2",
                  num_layers=12, hidden_size=768),
    EncoderSource(name="smollm2-135m-q4", format="gguf", asset="smollm2-135m-q4-gguf",
                  gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf", num_layers=30,
                  hidden_size=576),
    EncoderSource(name="smollm2-135m-q4-last", format="gguf", asset="smollm2-135m-q4-gguf",
                  gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf", num_layers=30,
                  hidden_size=576, pooling="last"),
]:
    ENCODERS.add(_enc.name, _enc, origin=__name__)

for _model in [
    ModelSpec(name="tfidf-logreg", family="classical", kind="tfidf",
              description="tf-idf unigrams+bigrams with logistic regression (weak supervisor)"),
    ModelSpec(name="keyword-rule", family="classical", kind="rule",
              description="a keyword rule declared in the task (`supervisor.keywords`), its "
                          "outcomes calibrated on split A (weak supervisor)"),
    ModelSpec(name="ensemble", family="ensemble", kind="ensemble",
              description="several weak supervisors named by the task (`weak_models`), each "
                          "frozen on its own; the default labels are their average"),
    ModelSpec(name="minilm-l6-layer1", family="minilm", kind="encoder",
              encoder="all-minilm-l6-v2", layer=1, params=13_693_056,
              description="all-MiniLM-L6-v2 truncated to its first transformer layer"),
    ModelSpec(name="minilm-l6-layer3", family="minilm", kind="encoder",
              encoder="all-minilm-l6-v2", layer=3, params=17_241_984,
              description="all-MiniLM-L6-v2 truncated to its first 3 transformer layers"),
    ModelSpec(name="paraphrase-minilm-l3", family="minilm", kind="encoder",
              encoder="paraphrase-minilm-l3-v2", params=17_241_984,
              description="paraphrase-MiniLM-L3-v2 (3 layers, 384 wide), converted from ONNX"),
    ModelSpec(name="minilm-l6", family="minilm", kind="encoder",
              encoder="all-minilm-l6-v2", params=22_565_376,
              description="all-MiniLM-L6-v2 (6 layers, 384 wide)"),
    ModelSpec(name="mpnet-base", family="mpnet", kind="encoder", tier="large",
              encoder="all-mpnet-base-v2", params=108_895_872,
              description="all-mpnet-base-v2 (12 layers, 768 wide); opt-in large tier"),
    ModelSpec(name="smollm2-135m-q4", family="smollm2", kind="encoder", tier="ladder",
              encoder="smollm2-135m-q4", params=134_515_008, layer_search="ceiling",
              description="SmolLM2-135M-Instruct, a decoder LM, from its 4-bit (Q4_1) GGUF: "
                          "the 4-bit weights de-quantised, not the bf16 original; mean-pooled "
                          "hidden states (30 layers, 576 wide)"),
    ModelSpec(name="smollm2-135m-q4-last", family="smollm2", kind="encoder", tier="ladder",
              encoder="smollm2-135m-q4-last", params=134_515_008, layer_search="ceiling",
              description="the decoder rung read at its last real token (what a causal LM "
                          "has seen all of the text at) instead of the mean over tokens"),
]:
    MODELS.add(_model.name, _model, origin=__name__)


def hidden_layer(model: ModelSpec) -> int:
    """Index into the stacked hidden states (0 = embeddings) that ``model`` reads."""
    encoder = ENCODERS.get(model.encoder or "")
    return encoder.num_layers if model.layer is None else model.layer
