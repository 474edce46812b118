"""training/train_lm.py on a tiny random Llama with SmolLM2's real tokenizer (from the model store), so every
run takes seconds: the snapshot is written here in the contract's format; the runs are real subprocesses,
one of them under torchrun with 2 processes on gloo."""

import json
import os
import re
import signal
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig, LlamaConfig, LlamaForCausalLM

from training import build_lm
from training import train_lm as T
from training.tests.util import REPO_ROOT, run_module

STORE = REPO_ROOT / "models" / "lm" / build_lm.MODEL_ID
pytestmark = pytest.mark.skipif(not (STORE / "tokenizer.json").is_file(),
                                reason=f"no LM store at {STORE}; build it with `npm run models:build`")

SYSTEM = "You are a helpful customer support assistant for Northwind Goods. Answer in one or two short sentences."
FACTS = [
    ("Standard shipping takes 3-5 business days.", "how long does shipping take", "Standard shipping takes 3-5 business days."),
    ("Returns are free within 30 days of delivery.", "can i return my jacket", "Yes, you can return it free of charge within 30 days of delivery."),
    ("Gift cards cannot be refunded.", "can i get a refund on a gift card", "No, gift cards cannot be refunded."),
    ("Orders ship within 1 business day.", "when will my order ship", "Your order ships within 1 business day."),
]
TINY_ARGS = ["--device", "cpu", "--epochs", "2", "--batch-size", "4", "--lr", "3e-3", "--seed", "7", "--log-every", "2"]


def row(i, split, question, fact, answer, history=()):
    return {"id": f"seed:{i:04d}", "split": split, "origin": "seed", "approved_by": "team", "intent": "shipping",
            "group": f"{question} {i}",
            "messages": [{"role": "system", "content": SYSTEM}, *history,
                         {"role": "user", "content": f"Facts:\n- {fact}\n\nCustomer question: {question}"},
                         {"role": "assistant", "content": answer}]}


def snapshot_rows(n=24):
    """n rows, every fourth in the holdout; some carry an earlier exchange, as buildPrompt's history does."""
    rows = []
    for i in range(n):
        fact, question, answer = FACTS[i % len(FACTS)]
        history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello! How can I help?"}] if i % 3 == 0 else []
        rows.append(row(i, "holdout" if i % 4 == 3 else "train", f"{question} ({i})", fact, answer, history))
    return rows


def write_snapshot(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def tok():
    return AutoTokenizer.from_pretrained(STORE)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 2-layer Llama with SmolLM2's vocabulary and special token ids, random weights."""
    torch.manual_seed(0)
    # head_dim 16: the served graph's GroupQueryAttention takes head sizes in multiples of 16 only.
    config = LlamaConfig(vocab_size=49152, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=1024,
                         tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=2)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(bos_token_id=1, eos_token_id=2, pad_token_id=2)
    path = tmp_path_factory.mktemp("tiny") / "base"
    model.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_snapshot(tmp_path_factory.mktemp("snap") / "lm.jsonl", snapshot_rows())


def train_cli(data, out, base, *extra, torchrun=0):
    args = ["--data", str(data), "--out", str(out), "--base", str(base), "--tokenizer", str(STORE), *TINY_ARGS, *extra]
    if torchrun:
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={torchrun}",
               "-m", "training.train_lm", *args]
        return subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    return run_module("training.train_lm", *args)


def lines(stdout, kind):
    return [json.loads(line.split(" ", 1)[1]) for line in stdout.splitlines() if line.startswith(kind + " ")]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data, tiny):
    out = tmp_path_factory.mktemp("run") / "lm"
    proc = train_cli(data, out, tiny)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc


# ----------------------------------------------------------------------------- tokens and labels

def test_loss_is_on_the_answer_and_its_im_end_only(tok):
    r = row(0, "train", "can i return my jacket", FACTS[1][0], FACTS[1][2],
            history=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello! How can I help?"}])
    ids, targets = T.encode(tok, r["messages"], 512)
    prompt = tok.apply_chat_template(r["messages"][:-1], add_generation_prompt=True)
    assert ids[: len(prompt)] == prompt  # the model sees exactly what serving sends
    assert len(targets) == len(ids)
    trained_on = [t for t in targets if t != T.IGNORE]
    assert tok.decode(trained_on) == FACTS[1][2] + "<|im_end|>"
    # position t predicts token t+1: the first target sits on the prompt's last token
    first = next(i for i, t in enumerate(targets) if t != T.IGNORE)
    assert first == len(prompt) - 1 and targets[first:-1] == ids[first + 1:] and targets[-1] == T.IGNORE
    # the earlier assistant turn is prompt, not target
    assert "Hello! How can I help?" in tok.decode(ids[: len(prompt)])


def test_length_batches_group_similar_lengths_and_cover_every_example():
    lengths = [10 + (i * 37) % 90 for i in range(200)]
    batches = T.length_batches(lengths, 8, torch.Generator().manual_seed(1))
    assert sorted(i for b in batches for i in b) == list(range(200))
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    assert 1 - sum(lengths) / padded < 0.1  # random batches of 8 waste ~35% here
    again = T.length_batches(lengths, 8, torch.Generator().manual_seed(1))
    assert again == batches


# ----------------------------------------------------------------------------- the snapshot

def special(tok):
    return sorted(tok.all_special_tokens + [str(t) for t in tok.added_tokens_decoder.values()])


def test_rows_go_to_their_split(tmp_path, tok):
    rows = snapshot_rows()
    snap = T.load_snapshot(write_snapshot(tmp_path / "s.jsonl", rows), special(tok))
    assert [r.id for r in snap.train] == [r["id"] for r in rows if r["split"] == "train"]
    assert [r.id for r in snap.holdout] == [r["id"] for r in rows if r["split"] == "holdout"]


def _mutate(rows, i, **changes):
    rows[i] = {**rows[i], **changes}
    return rows


def _message(rows, i, m, content):
    msgs = [dict(x) for x in rows[i]["messages"]]
    msgs[m]["content"] = content
    return _mutate(rows, i, messages=msgs)


BAD = {
    "not JSON": (lambda rows: rows, "{oops", "line 3: not JSON"),
    "missing field": (lambda rows: rows[:2] + [{k: v for k, v in rows[2].items() if k != "group"}] + rows[3:], None, "line 3: missing field(s) group"),
    "unknown origin": (lambda rows: _mutate(rows, 2, origin="guess"), None, "line 3: origin must be one of"),
    "empty answer": (lambda rows: _message(rows, 2, -1, "  "), None, "line 3: messages[2].content must be a non-empty string"),
    "control character": (lambda rows: _message(rows, 2, -1, "Yes\x07"), None, "line 3: messages[2].content has the control character U+0007"),
    "chat-template token": (lambda rows: _message(rows, 2, 1, "hi<|im_end|>\n<|im_start|>assistant"), None, "line 3: messages[1].content holds the chat-template token"),
    "roles out of order": (lambda rows: _mutate(rows, 2, messages=rows[2]["messages"][:1] + rows[2]["messages"][2:] + rows[2]["messages"][1:2]), None, "line 3: messages[1].role is 'assistant'"),
    "duplicate id": (lambda rows: _mutate(rows, 2, id=rows[0]["id"]), None, "line 3: id 'seed:0000' is also on line 1"),
    "group on both sides": (lambda rows: _mutate(rows, 3, group=rows[0]["group"]), None, "line 4: group 'how long does shipping take (0) 0' is in holdout here but in train on line 1"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_rows_are_refused_with_their_line(tmp_path, tok, case):
    mutate, raw_line, message = BAD[case]
    rows = mutate(snapshot_rows())
    text = "".join(json.dumps(r) + "\n" for r in rows)
    if raw_line is not None:  # replace line 3 with raw text
        parts = text.splitlines(keepends=True)
        parts[2] = raw_line + "\n"
        text = "".join(parts)
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(T.SnapshotError, match="^" + re.escape(message)):
        T.load_snapshot(path, special(tok))


def test_too_long_examples_and_a_stale_manifest_are_refused(tmp_path, tok):
    snap = T.load_snapshot(write_snapshot(tmp_path / "s.jsonl", snapshot_rows()), special(tok))
    with pytest.raises(T.SnapshotError, match=r"^line 1: \d+ tokens, over --max-len 20"):
        T.encode_all(tok, snap.train, 20)
    (tmp_path / "s.manifest.json").write_text(json.dumps({"kind": "lm", "sha256": "0" * 64}))
    with pytest.raises(T.SnapshotError, match="s.manifest.json says 000000000000"):
        T.load_snapshot(tmp_path / "s.jsonl", special(tok))


def test_cli_refuses_a_bad_snapshot_before_training(tmp_path, tiny):
    rows = snapshot_rows()
    rows[4]["messages"][-1]["content"] = ""
    out = tmp_path / "lm"
    proc = train_cli(write_snapshot(tmp_path / "bad.jsonl", rows), out, tiny)
    assert proc.returncode == 2
    assert "line 5: messages[2].content must be a non-empty string" in proc.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "bad.jsonl"]


# ----------------------------------------------------------------------------- training

def test_training_is_deterministic_with_a_seed(tmp_path, tok, tiny):
    snap = T.load_snapshot(write_snapshot(tmp_path / "s.jsonl", snapshot_rows()), special(tok))
    train_ex, holdout_ex = T.encode_all(tok, snap.train, 512), T.encode_all(tok, snap.holdout, 512)
    args = Namespace(seed=3, batch_size=4, epochs=1, max_steps=3, warmup=0.1, lr=3e-3, weight_decay=0.01,
                     log_every=100, eval_batch_size=8)

    def run():
        torch.manual_seed(args.seed)
        model = T.freeze_embedding(AutoModelForCausalLM.from_pretrained(tiny))
        params = [p for p in model.parameters() if p.requires_grad]
        history = T.train(T.AnswerLoss(model), params, train_ex, holdout_ex, tok.pad_token_id,
                          torch.device("cpu"), None, T.Dist(), args)
        return history, model

    (h1, m1), (h2, m2) = run(), run()
    assert h1["steps"] == 3 and h1["step_loss"] == h2["step_loss"]
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))
    base = AutoModelForCausalLM.from_pretrained(tiny)
    assert not torch.equal(m1.model.layers[0].mlp.up_proj.weight, base.model.layers[0].mlp.up_proj.weight)
    assert torch.equal(m1.lm_head.weight, base.lm_head.weight)  # the tied embedding is frozen


def test_a_run_writes_the_contracts_folder(trained, data):
    out, proc = trained
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
            "onnx/model_quantized.onnx", "checkpoint/model.safetensors", "checkpoint/config.json",
            "manifest.json", "metrics.json", "loss.png"} <= files
    assert "onnx/model.onnx" not in files
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp folders left

    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == files - {"manifest.json"}
    assert all(build_lm.sha256_file(out / rel) == sha for rel, sha in manifest["files"].items())
    assert manifest["version"] == "lm-" + manifest["files"]["onnx/model_quantized.onnx"][:12]
    dataset_sha = build_lm.sha256_file(data)
    assert manifest["dataset_sha256"] == dataset_sha and manifest["base"]["version"].startswith("checkpoint@")

    def refuse(name):
        raise ValueError(name)
    metrics = json.loads((out / "metrics.json").read_text(), parse_constant=refuse)  # strict JSON
    assert metrics["kind"] == "lm" and metrics["method"] == "full" and metrics["device"] == "cpu"
    assert metrics["examples"] == {"train": 18, "holdout": 6} and metrics["dataset_sha256"] == dataset_sha
    assert metrics["steps"] == 10 and metrics["epochs"] == 2 and [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert metrics["holdout_loss"] < metrics["base_holdout_loss"]  # it learnt something
    assert metrics["holdout_perplexity"] == pytest.approx(np.exp(metrics["holdout_loss"]))

    evals, progress = lines(proc.stdout, "EVAL"), lines(proc.stdout, "PROGRESS")
    assert [e["epoch"] for e in evals] == [0, 1, 2]  # 0: the base model
    assert evals[0]["holdout_loss"] == pytest.approx(metrics["base_holdout_loss"], abs=1e-4)
    assert [p["step"] for p in progress] == [2, 4, 6, 8, 10] and progress[-1]["eta_s"] == 0
    [done] = lines(proc.stdout, "DONE")
    assert (done["out"], done["version"], done["holdout_loss"]) == (str(out), manifest["version"], metrics["holdout_loss"])
    assert all(line.split(" ")[0] in ("PROGRESS", "EVAL", "DONE") for line in proc.stdout.splitlines())


def test_the_int8_model_runs_with_its_kv_cache_like_the_checkpoint(trained, tok):
    out, _ = trained
    model = AutoModelForCausalLM.from_pretrained(out / "checkpoint").eval()
    session = ort.InferenceSession(out / "onnx" / "model_quantized.onnx", providers=["CPUExecutionProvider"])
    ids = tok.apply_chat_template(snapshot_rows()[1]["messages"][:-1], add_generation_prompt=True)
    with torch.no_grad():
        ref = model(torch.tensor([ids])).logits[0].numpy()
    got = build_lm.onnx_logits(session, model.config, ids)  # the prompt, then its last token on the cache
    cosine = (ref * got).sum(-1) / np.linalg.norm(ref, axis=-1) / np.linalg.norm(got, axis=-1)
    assert got.shape == ref.shape and cosine.min() > 0.99
    assert ref[-1].argmax() == got[-1].argmax()
    assert AutoTokenizer.from_pretrained(out).apply_chat_template(
        [{"role": "user", "content": "x"}], tokenize=False, add_generation_prompt=True).endswith("<|im_start|>assistant\n")


def test_a_diverging_run_fails_and_writes_nothing(tmp_path, data, tiny):
    out = tmp_path / "lm"
    proc = train_cli(data, out, tiny, "--lr", "1e6")
    assert proc.returncode == 1
    assert "error: loss became NaN at step" in proc.stderr or "error: loss became infinite at step" in proc.stderr
    assert list(tmp_path.iterdir()) == []
    assert "DONE" not in proc.stdout


def test_sigterm_stops_the_run_and_writes_nothing(tmp_path, data, tiny):
    out = tmp_path / "lm"
    args = ["--data", str(data), "--out", str(out), "--base", str(tiny), "--tokenizer", str(STORE), *TINY_ARGS,
            "--epochs", "50", "--log-every", "1"]
    proc = subprocess.Popen([sys.executable, "-m", "training.train_lm", *args], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("PROGRESS"):
            break
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 143
    assert "interrupted (SIGTERM); nothing written" in proc.stderr.read()
    assert list(tmp_path.iterdir()) == []


def test_torchrun_with_two_processes_on_gloo(tmp_path, data, tiny, trained):
    out = tmp_path / "lm"
    proc = train_cli(data, out, tiny, torchrun=2)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["processes"] == 2 and metrics["steps"] == 10  # the global batch is split, not repeated
    assert metrics["holdout_loss"] < metrics["base_holdout_loss"]
    one = json.loads((trained[0] / "metrics.json").read_text())
    assert metrics["base_holdout_loss"] == pytest.approx(one["base_holdout_loss"], rel=1e-5)  # same model, sharded eval
    assert len(lines(proc.stdout, "EVAL")) == 3 and len(lines(proc.stdout, "DONE")) == 1  # rank 0 alone prints
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert files == {p.relative_to(trained[0]).as_posix() for p in trained[0].rglob("*") if p.is_file()}
    session = ort.InferenceSession(out / "onnx" / "model_quantized.onnx", providers=["CPUExecutionProvider"])
    config = AutoModelForCausalLM.from_pretrained(out / "checkpoint").config
    assert np.isfinite(build_lm.onnx_logits(session, config, [1, 4093, 198, 28120])).all()
