"""The fine-tuning recipe's options: learning-rate schedule, pooling, label smoothing, early stopping
with best-epoch restore (fast: a tiny BERT, or the tiny snapshot)."""

import json
import math

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertModel

from training import model as M
from training import train as T
from training.tests.util import TINY, TINY_ARGS, run_module


def test_lr_schedules_warm_up_then_decay_to_zero():
    total, warmup = 10, 2
    for schedule in ("linear", "cosine"):
        f = [T.lr_factor(s, total, warmup, schedule) for s in range(total + 1)]
        assert f[:2] == [0.5, 1.0] and f[2] == 1.0 and f[total] == 0.0
        assert all(a >= b for a, b in zip(f[2:], f[3:])), schedule  # never rises after the warmup
    # halfway through the decay both are at 1/2; cosine stays higher before it and lower after it
    assert T.lr_factor(6, total, warmup, "cosine") == pytest.approx(0.5)
    assert T.lr_factor(6, total, warmup, "linear") == pytest.approx(0.5)
    assert T.lr_factor(4, total, warmup, "cosine") > T.lr_factor(4, total, warmup, "linear")
    assert T.lr_factor(8, total, warmup, "cosine") < T.lr_factor(8, total, warmup, "linear")


@pytest.mark.parametrize("argv, message", [
    (["--label-smoothing", "1"], "--label-smoothing"),
    (["--patience", "-1"], "--patience"),
    (["--pooling", "max"], "--pooling"),
    (["--schedule", "step"], "--schedule"),
])
def test_recipe_options_are_checked(argv, message, capsys):
    with pytest.raises(SystemExit):
        T.parse_args(["--data", "x", "--out", "y", *argv])
    assert message in capsys.readouterr().err


def tiny_bert() -> BertModel:
    torch.manual_seed(0)
    return BertModel(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                intermediate_size=32, max_position_embeddings=16), add_pooling_layer=False)


def test_cls_pooling_reads_the_first_token_and_mean_pooling_ignores_padding():
    ids = torch.tensor([[1, 5, 6, 2, 0, 0], [1, 7, 2, 0, 0, 0]])
    mask = (ids != 0).long()
    for pooling in ("mean", "cls"):
        model = M.IntentClassifier(tiny_bert(), 3, pooling=pooling).eval()
        hidden = model.encoder(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
        want = hidden[:, 0] if pooling == "cls" else torch.stack([hidden[0, :4].mean(0), hidden[1, :3].mean(0)])
        torch.testing.assert_close(model.embed(ids, mask), want)
    with pytest.raises(ValueError):
        M.IntentClassifier(tiny_bert(), 3, pooling="max")


def test_early_stopping_keeps_the_best_validation_epoch():
    """Validation rows are the training rows with every label shifted by one: the better the model learns,
    the worse validation gets, so epoch 1 is best, training stops `patience` epochs later, and the
    model ends with epoch 1's weights (its validation loss is epoch 1's again)."""
    rng = np.random.default_rng(0)
    ids = [list(rng.integers(3, 50, size=int(rng.integers(3, 8)))) for _ in range(32)]
    y = [i % 4 for i in range(32)]
    val_y = np.asarray([(v + 1) % 4 for v in y])
    args = T.parse_args(["--data", "x", "--out", "y", "--epochs", "8", "--batch-size", "8", "--lr", "3e-3",
                         "--head-lr", "3e-2", "--patience", "2", "--seed", "1"])
    model = M.IntentClassifier(tiny_bert(), 4, dropout=0.0)
    cpu = torch.device("cpu")
    history = T.train(model, ids, y, ids, np.asarray(y), ids, val_y, 0, cpu, None, args)
    losses = [e["validation_loss"] for e in history["epochs"]]
    assert history["best_epoch"] == 1 and history["epochs_run"] == 3, losses
    assert T.evaluate(model, ids, val_y, 0, cpu, args, None)["loss"] == pytest.approx(losses[0], abs=1e-4)


def test_without_patience_every_epoch_is_trained_and_the_last_kept():
    ids = [[3, 4, 5], [6, 7], [8, 9, 10, 11]] * 4
    y = [0, 1, 2] * 4
    args = T.parse_args(["--data", "x", "--out", "y", "--epochs", "3", "--batch-size", "4", "--patience", "0"])
    history = T.train(M.IntentClassifier(tiny_bert(), 3), ids, y, ids, np.asarray(y), ids, np.asarray(y), 0,
                      torch.device("cpu"), None, args)
    assert history["epochs_run"] == 3 and history["best_epoch"] is None
    assert all("validation_accuracy" in e for e in history["epochs"])


def test_trainer_with_validation_rows_and_the_other_recipe(tmp_path):
    """End to end: CLS pooling, cosine schedule, label smoothing, early stopping on validation rows; the
    ONNX checks pass and config/metrics say what was done."""
    rows = [json.loads(line) for line in TINY.read_text().splitlines()]
    for i, r in enumerate(r for r in rows if r["split"] == "train"):
        if i % 4 == 0:
            r["split"] = "validation"
    snapshot = tmp_path / "snapshot.jsonl"
    snapshot.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "model"
    proc = run_module("training.train", "--data", str(snapshot), "--out", str(out), "--device", "cpu", *TINY_ARGS,
                      "--pooling", "cls", "--schedule", "cosine", "--label-smoothing", "0.1", "--patience", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    evals = [json.loads(line.split(" ", 1)[1]) for line in proc.stdout.splitlines() if line.startswith("EVAL ")]
    assert evals and all(0 <= e["validation_accuracy"] <= 1 and math.isfinite(e["validation_loss"]) for e in evals)
    c = json.loads((out / "config.json").read_text())
    assert c["pooling"] == "[CLS] token" and c["label_smoothing"] == 0.1
    assert c["schedule"] == "linear warmup then cosine decay to 0"
    m = json.loads((out / "metrics.json").read_text())
    assert m["epochs_run"] == len(evals) and 1 <= m["best_epoch"] <= m["epochs_run"]
    assert m["onnx_check"]["int8_argmax_agreement"] >= 0.98
