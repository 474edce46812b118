"""Trainer, snapshot and baseline tests (CPU; the trainer runs once per session)."""

import hashlib
import json
import subprocess

import numpy as np
import pytest

from training.snapshot import (
    SnapshotError,
    csv_to_snapshot,
    holdout_bucket,
    load_snapshot,
    normalize_text,
)

from training.tests.util import TINY, TINY_ARGS, run_module

LABELS = ["greeting", "order_status", "refund_request", "reset_password"]
OUTPUT_FILES = [
    "model.onnx", "model_int8.onnx", "labels.json", "metrics.json", "config.json", "predictions.jsonl",
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
    "confusion_matrix.png", "loss_curve.png", "calibration.json", "mahalanobis.json",
]


def tiny_rows():
    return [json.loads(line) for line in TINY.read_text().splitlines()]


def write_jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


# ----------------------------------------------------------------------------- trainer run


def test_trainer_succeeds_and_writes_everything(trained):
    out, proc = trained
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in OUTPUT_FILES:
        assert (out / name).is_file(), name
    leftovers = [p.name for p in out.parent.iterdir() if p.name != out.name]
    assert leftovers == [], f"temporary files left behind: {leftovers}"
    assert json.loads((out / "labels.json").read_text()) == LABELS
    for png in ("confusion_matrix.png", "loss_curve.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stdout_is_machine_readable_progress(trained):
    out, proc = trained
    lines = proc.stdout.strip().splitlines()
    kinds = [line.split(" ", 1)[0] for line in lines]
    assert set(kinds) <= {"PROGRESS", "EVAL", "DONE"}, lines
    records = [(k, json.loads(line.split(" ", 1)[1])) for k, line in zip(kinds, lines)]
    progress = [r for k, r in records if k == "PROGRESS"]
    evals = [r for k, r in records if k == "EVAL"]
    assert len(evals) == 3 and [e["epoch"] for e in evals] == [1, 2, 3]
    for e in evals:
        assert 0 <= e["holdout_accuracy"] <= 1 and 0 <= e["holdout_macro_f1"] <= 1
    assert progress and set(progress[0]) >= {"epoch", "epochs", "step", "steps", "loss", "eta_s"}
    steps = [p["step"] for p in progress]
    assert steps == sorted(steps) and steps[-1] == progress[-1]["steps"] == 15  # ceil(36/8) * 3
    assert kinds[-1] == "DONE"
    assert "epoch 1/3" in proc.stderr  # the tqdm bar lives on stderr


def test_metrics_are_sane(trained):
    out, _ = trained
    m = json.loads((out / "metrics.json").read_text())
    assert m["primary"] == "onnx_int8"
    assert m["n_train"] == 36 and m["n_holdout"] == 12
    assert m["device"] == "cpu" and m["train_seconds"] > 0 and m["examples_per_second"] > 0
    for name in ("onnx_int8", "torch_fp32"):
        r = m[name]
        assert 0 <= r["accuracy"] <= 1 and 0 <= r["macro_f1"] <= 1 and 0 <= r["ece"] <= 1
        assert r["accuracy"] >= 0.5, f"{name} no better than chance (0.25): {r['accuracy']}"
        cm = np.asarray(r["confusion_matrix"])
        assert cm.shape == (4, 4) and cm.sum() == 12
        assert np.trace(cm) / cm.sum() == pytest.approx(r["accuracy"])
        assert set(r["per_intent"]) == set(LABELS)
        for stats in r["per_intent"].values():
            assert set(stats) == {"precision", "recall", "f1", "support"} and stats["support"] == 3
    assert m["accuracy"] == m["onnx_int8"]["accuracy"]
    assert m["onnx_int8"]["latency_ms_batch1"]["p50"] > 0


def test_onnx_checks_recorded_and_passed(trained):
    out, _ = trained
    check = json.loads((out / "metrics.json").read_text())["onnx_check"]
    assert check["passed"] is True
    assert check["fp32_max_abs_logit_diff"] < 1e-3
    assert check["int8_argmax_agreement"] >= 0.98


def test_config_records_the_run(trained):
    out, _ = trained
    c = json.loads((out / "config.json").read_text())
    assert c["dataset_sha256"] == hashlib.sha256(TINY.read_bytes()).hexdigest()
    assert c["seed"] == 7 and c["max_len"] == 24 and c["args"]["epochs"] == 3
    assert c["encoder"]["name"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert len(c["encoder"]["sha256"]) == 64
    assert {"torch", "transformers", "onnxruntime"} <= set(c["versions"])
    q = c["quantization"]  # FFN output (then input) projections of the 6 layers stay fp32
    assert (q["plan"], len(q["kept_fp32"])) in {("ffn_output_fp32", 6), ("ffn_fp32", 12)} or (q["plan"] == "all_matmul_fp32" and len(q["kept_fp32"]) > 12)
    tok_cfg = json.loads((out / "tokenizer_config.json").read_text())
    assert tok_cfg["model_max_length"] == 24


def test_onnx_models_serve_like_node_will(trained):
    """Load the saved tokenizer + ONNX files the way serving does; match the trainer's predictions."""
    import onnxruntime as ort
    from transformers import AutoTokenizer

    out, _ = trained
    tok = AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    labels = json.loads((out / "labels.json").read_text())
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 12

    sess = ort.InferenceSession(str(out / "model_int8.onnx"), providers=["CPUExecutionProvider"])
    inputs = {i.name: i for i in sess.get_inputs()}
    assert set(inputs) == {"input_ids", "attention_mask"}
    for i in inputs.values():
        assert i.type == "tensor(int64)" and len(i.shape) == 2 and all(isinstance(d, str) for d in i.shape)
    assert [o.name for o in sess.get_outputs()] == ["logits", "embedding"]  # the embedding: out-of-scope distance

    for p in preds:  # one message per call, as the server does
        enc = tok(p["text"], truncation=True, return_tensors="np")
        logits = sess.run(["logits"], {"input_ids": enc["input_ids"].astype(np.int64),
                                       "attention_mask": enc["attention_mask"].astype(np.int64)})[0]
        assert logits.shape == (1, 4) and logits.dtype == np.float32
        assert labels[int(logits.argmax())] == p["pred_int8"]

    # dynamic batch and sequence axes on the fp32 model, with padding
    sess32 = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    texts = [p["text"] for p in preds[:3]] + ["hi"]
    enc = tok(texts, padding=True, truncation=True, return_tensors="np")
    batch = sess32.run(["logits"], {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask")})[0]
    assert batch.shape == (4, 4)
    one = tok(["hi"], return_tensors="np")
    single = sess32.run(["logits"], {k: one[k].astype(np.int64) for k in ("input_ids", "attention_mask")})[0]
    np.testing.assert_allclose(batch[3], single[0], atol=1e-4)  # padding is masked out


def test_existing_output_dir_is_not_clobbered(tmp_path):
    out = tmp_path / "model"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    proc = run_module("training.train", "--data", str(TINY), "--out", str(out), *TINY_ARGS)
    assert proc.returncode == 2 and "already exists" in proc.stderr
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


# ----------------------------------------------------------------------------- bad snapshots


def _bad_invalid_json(rows):
    return rows[:5] + ['{"text": "oops", "label": '] + rows[5:]


def _bad_conflict(rows):
    return rows + [{**rows[0], "label": "refund_request" if rows[0]["label"] != "refund_request" else "greeting"}]


def _bad_empty_text(rows):
    return rows[:3] + [{**rows[3], "text": "   "}] + rows[4:]


def _bad_no_holdout(rows):
    return [{**r, "split": "train"} for r in rows]


@pytest.mark.parametrize("make, message", [
    (_bad_invalid_json, "line 6: invalid JSON"),
    (_bad_conflict, "is labelled"),
    (_bad_empty_text, "line 4: empty text"),
    (_bad_no_holdout, "holdout split is empty"),
])
def test_trainer_refuses_bad_snapshot(tmp_path, make, message):
    data = write_jsonl(tmp_path / "bad.jsonl", make(tiny_rows()))
    out = tmp_path / "model"
    proc = run_module("training.train", "--data", str(data), "--out", str(out), *TINY_ARGS)
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("error:") and message in err, err
    assert proc.stdout == ""
    assert list(tmp_path.iterdir()) == [data], "nothing may be written on refusal"


@pytest.mark.parametrize("mutate, message", [
    (lambda rows: rows[:1] + [{k: v for k, v in rows[1].items() if k != "label"}], "line 2: missing field 'label'"),
    (lambda rows: rows[:1] + [{**rows[1], "text": 42}], "line 2: field 'text' must be a string"),
    (lambda rows: rows[:1] + [{**rows[1], "extra": 1}], "line 2: unexpected field"),
    (lambda rows: rows[:1] + [[1, 2]], "line 2: expected a JSON object"),
    (lambda rows: rows[:1] + [{**rows[1], "text": "x" * 2001}], "line 2: text is 2001 characters"),
    (lambda rows: rows[:1] + [{**rows[1], "split": "test"}], "line 2: unknown split 'test'"),
    (lambda rows: rows[:1] + [{**rows[1], "source": "web"}], "line 2: unknown source 'web'"),
    (lambda rows: [{**r, "label": "greeting"} for r in rows], "at least 2 are needed"),
    (lambda rows: rows + [{**rows[0], "text": "brand new", "label": "new_intent", "split": "train"}],
     "fewer than 2 training examples: 'new_intent' (1)"),
    (lambda rows: rows + [{**rows[0], "text": "ONLY holdout", "label": "rare", "split": "holdout"}],
     "'rare' (0)"),
    (lambda rows: rows + [{**rows[0], "text": "  " + rows[0]["text"].upper() + " ", "label": "greeting"}],
     "is labelled 'greeting'"),  # conflict detection ignores case and whitespace
    (lambda rows: [], "no examples"),
])
def test_snapshot_validation(tmp_path, mutate, message):
    path = write_jsonl(tmp_path / "s.jsonl", mutate(tiny_rows()))
    with pytest.raises(SnapshotError) as e:
        load_snapshot(str(path))
    assert message in str(e.value) and "\n" not in str(e.value)


def test_unreadable_snapshot(tmp_path):
    with pytest.raises(SnapshotError, match="cannot read snapshot"):
        load_snapshot(str(tmp_path / "missing.jsonl"))
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SnapshotError, match="not valid UTF-8"):
        load_snapshot(str(tmp_path / "bin.jsonl"))
    proc = run_module("training.snapshot", "validate", str(tmp_path / "missing.jsonl"))
    assert proc.returncode == 2 and proc.stderr.startswith("error: cannot read snapshot")


def test_valid_snapshot_summary():
    snap = load_snapshot(str(TINY))
    assert snap.labels == LABELS and len(snap.train) == 36 and len(snap.holdout) == 12
    assert snap.sha256 == hashlib.sha256(TINY.read_bytes()).hexdigest()
    assert snap.warnings == []


# ----------------------------------------------------------------------------- split rule / CSV


def test_holdout_rule_golden_values():
    # Node implements the same rule; these values were checked against Node's crypto:
    # text.toLowerCase().split(/\s+/).filter(Boolean).join(" ") -> sha256 -> first 8 hex -> mod 100
    assert normalize_text("  Where IS\tmy   order \n") == "where is my order"
    assert holdout_bucket("where is my order") == 59
    assert holdout_bucket("  Where IS\tmy   order ") == 59
    assert holdout_bucket("I want a refund") == 20  # bucket 20 -> train (holdout is < 20)
    assert holdout_bucket("hello") == 14
    assert holdout_bucket("Ça va? Café ÜBER") == 74
    assert holdout_bucket("reset my password") == 88


def test_csv_to_snapshot(tmp_path):
    csv_path = tmp_path / "in.csv"
    rows = [("hello", "greeting"), ("hi there", "greeting"), ("Hello", "greeting"),  # dup after normalising
            ("I want a refund", "refund"), ("refund please", "refund"), ('say "hi", then', "greeting")]
    csv_path.write_text("text,label\n" + "".join(
        f'"{t.replace(chr(34), chr(34) * 2)}",{label}\n' for t, label in rows))
    out = tmp_path / "out.jsonl"
    proc = run_module("training.snapshot", "from-csv", str(csv_path), str(out))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["rows"] == 5 and summary["duplicates_dropped"] == 1
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["text"] for r in recs] == ["hello", "hi there", "I want a refund", "refund please", 'say "hi", then']
    for r in recs:
        assert set(r) == {"text", "label", "split", "source"} and r["source"] == "seed"
        assert r["split"] == ("holdout" if holdout_bucket(r["text"]) < 20 else "train")
    assert recs[0]["split"] == "holdout" and recs[2]["split"] == "train"
    # the function form, and refusing a CSV without the needed columns
    assert csv_to_snapshot(str(csv_path), str(tmp_path / "again.jsonl"))["rows"] == 5
    (tmp_path / "bad.csv").write_text("utterance,intent\nhi,greeting\n")
    with pytest.raises(SnapshotError, match="needs 'text'"):
        csv_to_snapshot(str(tmp_path / "bad.csv"), str(tmp_path / "x.jsonl"))


# ----------------------------------------------------------------------------- baseline


def test_baseline_runs():
    proc = run_module("training.baseline", "--data", str(TINY))
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert {"accuracy", "macro_f1", "train_seconds", "p50_ms", "p99_ms"} <= set(r)
    assert 0.5 <= r["accuracy"] <= 1 and 0 <= r["macro_f1"] <= 1
    assert 0 < r["p50_ms"] <= r["p99_ms"]


def test_baseline_refuses_bad_snapshot(tmp_path):
    data = write_jsonl(tmp_path / "bad.jsonl", _bad_no_holdout(tiny_rows()))
    proc = run_module("training.baseline", "--data", str(data))
    assert proc.returncode == 2 and proc.stderr.startswith("error:") and "Traceback" not in proc.stderr

