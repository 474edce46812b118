"""The sentence encoder's build (training/build_encoder.py), run for real into a temporary folder."""

import json

import numpy as np
import onnxruntime as ort
from transformers import AutoTokenizer

from training.build_encoder import build
from training.model import sha256_file


def test_builds_a_checked_encoder_once(tmp_path, capsys):
    out = tmp_path / "encoder"
    build(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == {p.name for p in out.iterdir()} - {"manifest.json"}
    for name, sha in manifest["files"].items():
        assert sha256_file(out / name) == sha, name

    tokenizer = AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    texts = ["How long do refunds take?", "When will I get my money back?", "Do you sell garden furniture?"]
    batch = tokenizer(texts, padding=True, return_tensors="np")
    vectors = session.run(None, {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]})[0]
    assert vectors.shape == (3, manifest["dim"])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    # A paraphrase is closer than an unrelated question.
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2

    capsys.readouterr()
    build(out)  # same weights: nothing to do
    assert "up to date" in capsys.readouterr().out
