"""Checks on the LM model store that training/build_lm.py writes; cheap, they never rebuild it.

Build the store first with `python -m training.build_lm --out models/lm` (a few minutes on CPU). They check
the store under LOOPDESK_MODELS_DIR when it is set, as the server would serve it.
"""

import collections
import json
import os
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from transformers import AutoConfig

from training.build_lm import GRAPH, onnx_logits, sha256_file

MODELS = Path(os.environ.get("LOOPDESK_MODELS_DIR") or Path(__file__).resolve().parents[2] / "models")
STORE = MODELS / "lm" / "smollm2-135m-instruct"

pytestmark = pytest.mark.skipif(
    not (STORE / "manifest.json").is_file(),
    reason=f"no LM store at {STORE}; build it with `python -m training.build_lm --out models/lm`",
)


def test_manifest_lists_every_file_with_its_sha256():
    manifest = json.loads((STORE / "manifest.json").read_text())
    on_disk = {p.relative_to(STORE).as_posix() for p in STORE.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(manifest["files"]) == on_disk
    for rel, sha in manifest["files"].items():
        assert sha256_file(STORE / rel) == sha, rel
    assert manifest["version"] == f"{manifest['id']}@{manifest['files']['onnx/model_quantized.onnx'][:12]}"
    assert manifest["graph"] == GRAPH


def test_quantized_model_gives_finite_logits():
    config = AutoConfig.from_pretrained(STORE)
    session = ort.InferenceSession(STORE / "onnx" / "model_quantized.onnx", providers=["CPUExecutionProvider"])
    logits = onnx_logits(session, config, [1, 4093, 198, 28120])  # "<|im_start|>user\nHello": prompt, then cached step
    assert logits.shape == (4, config.vocab_size)
    assert np.isfinite(logits).all()


def test_the_graph_is_the_fused_one_with_block_quantized_weights():
    graph = onnx.load(STORE / "onnx" / "model_quantized.onnx", load_external_data=False).graph
    ops = collections.Counter(node.op_type for node in graph.node)
    layers = json.loads((STORE / "config.json").read_text())["num_hidden_layers"]
    assert ops["GroupQueryAttention"] == layers
    # Five a layer (q/k/v fused into one, attention output, MLP gate, up and down) and the output projection.
    assert ops["MatMulNBits"] == 5 * layers + 1 and ops["MatMul"] == 0
    assert any(node.op_type == "MatMulNBits" and node.name.startswith("/lm_head/") for node in graph.node)
    # transformers.js sizes the first step's empty KV cache from these shapes: the head size must be a number.
    cache = [v for v in [*graph.input, *graph.output] if v.name.startswith(("past_key_values.", "present."))]
    assert len(cache) == 4 * layers
    assert all(v.type.tensor_type.shape.dim[3].dim_value == 64 for v in cache)
