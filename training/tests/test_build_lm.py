"""Checks on the LM model store that training/build_lm.py writes; cheap, they never rebuild it.

Build the store first with `python -m training.build_lm --out models/lm` (about a minute on CPU).
"""

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from training.build_lm import sha256_file

STORE = Path(__file__).resolve().parents[2] / "models" / "lm" / "smollm2-135m-instruct"

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


def test_quantized_model_gives_finite_logits():
    config = json.loads((STORE / "config.json").read_text())
    session = ort.InferenceSession(STORE / "onnx" / "model_quantized.onnx", providers=["CPUExecutionProvider"])
    ids = np.array([[1, 4093, 198]], dtype=np.int64)  # "<|im_start|>user\n"
    empty = np.zeros((1, config["num_key_value_heads"], 0, config["head_dim"]), dtype=np.float32)
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "position_ids": np.arange(3, dtype=np.int64)[None]}
    feed |= {i.name: empty for i in session.get_inputs() if i.name.startswith("past_key_values.")}
    logits = session.run(["logits"], feed)[0]
    assert logits.shape == (1, 3, config["vocab_size"])
    assert np.isfinite(logits).all()
