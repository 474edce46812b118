"""Export a trained PyTorch model to ONNX for serving, quantize it to int8, and check both against PyTorch.

    export_and_check(model, out_dir, ...) -> Export

writes out_dir/model.onnx (fp32) and out_dir/model_int8.onnx. The contract is the serving signature,
(input_ids, attention_mask) -> logits with int64 inputs and dynamic batch and sequence axes; the axes of
the logits are a parameter (a classifier's are [batch, labels]), so another trainer with that signature,
such as a language model's, can reuse the same path. Two checks, each raising ExportError on failure:

  1. the fp32 ONNX logits match PyTorch's on a padded batch, within `tolerance`;
  2. int8 (onnxruntime's dynamic quantization): the plans of quantization_plans are tried, most compressed
     first (the last keeps every weight MatMul in fp32), and the first whose argmax agrees with fp32 PyTorch
     on `min_agreement` of the samples is kept.
     The samples run one per call, like serving (dynamic quantization depends on the batch), which also
     times them.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic

Batch = tuple[torch.Tensor, torch.Tensor]  # (input_ids, attention_mask), padded


class ExportError(Exception):
    """An exported model that failed its check; str(e) is a one-line explanation."""


@dataclass
class Export:
    fp32_path: Path
    int8_path: Path
    int8_logits: np.ndarray  # one row per sample
    int8_latency_ms: list[float]  # per sample, batch of one
    plan: str  # the int8 plan kept
    kept_fp32: list[str]  # MatMul nodes that plan leaves in fp32
    check: dict  # the figures of both checks, for metrics.json


class OnnxWrapper(torch.nn.Module):
    """Exactly the serving signature: (input_ids, attention_mask) -> logits."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids, attention_mask)


def export_onnx(model, path: Path, example: Batch, opset: int, output_axes: dict[str, dict[int, str]]) -> None:
    # The exporter restores the wrapper's train/eval mode afterwards, recursively:
    # a wrapper left in (default) train mode would switch dropout back on in `model`.
    wrapper = OnnxWrapper(model).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # legacy-exporter deprecation and tracer warnings
        torch.onnx.export(
            wrapper, example, str(path),
            dynamo=False,  # the TorchScript exporter; dynamo would need onnxscript
            input_names=["input_ids", "attention_mask"],
            output_names=list(output_axes),
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                          "attention_mask": {0: "batch", 1: "sequence"},
                          **output_axes},
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
    g = onnx.load(str(onnx_path), load_external_data=False).graph
    shapes = {t.name: list(t.dims) for t in g.initializer}

    def matmuls(shape):
        return [n.name for n in g.node if n.op_type == "MatMul" and shapes.get(n.input[1]) == shape]

    ffn_out, ffn_in = matmuls([intermediate, hidden]), matmuls([hidden, intermediate])
    # Last resort, every weight MatMul in fp32: an undertrained model's near-tied classes can flip under any
    # int8 plan; served slower, it still answers as trained (the plan is recorded in metrics.json).
    every = [n.name for n in g.node if n.op_type == "MatMul" and n.input[1] in shapes]
    return [("ffn_output_fp32", ffn_out), ("ffn_fp32", ffn_out + ffn_in), ("all_matmul_fp32", every)]


def quantize_int8(src: Path, dst: Path, exclude: list[str]) -> None:
    """Dynamic quantization: int8 weights, activations quantized per call (uint8)."""
    logging.disable(logging.WARNING)  # "consider pre-processing" advice on the root logger
    try:
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, nodes_to_exclude=exclude)
    finally:
        logging.disable(logging.NOTSET)


def ort_session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def ort_logits(sess: ort.InferenceSession, batch: Batch) -> np.ndarray:
    input_ids, attention_mask = batch
    return sess.run(["logits"], {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()})[0]


def one_at_a_time(sess: ort.InferenceSession, samples: list[Batch]) -> tuple[np.ndarray, list[float]]:
    """Each sample's logits, computed alone, and how long each call took (ms)."""
    for sample in samples[:3]:
        ort_logits(sess, sample)  # warm-up
    logits, latency_ms = [], []
    for sample in samples:
        t = time.perf_counter()
        logits.append(ort_logits(sess, sample)[0])
        latency_ms.append((time.perf_counter() - t) * 1000)
    return np.stack(logits), latency_ms


def export_and_check(model, out_dir: Path, *, example: Batch, check_batch: Batch, samples: list[Batch],
                     reference_logits: np.ndarray, ffn_shape: tuple[int, int], opset: int, tolerance: float,
                     min_agreement: float, logits_axes: dict[int, str] | None = None,
                     export_model=None, extra_outputs: dict[str, dict[int, str]] | None = None) -> Export:
    """Export `model` (fp32, on CPU, in eval mode) and check it, as the module docstring says.

    example: the batch the exporter traces. check_batch: the padded batch of check 1.
    samples: one-row batches for check 2; reference_logits: fp32 PyTorch's logits for them.
    ffn_shape: (hidden size, FFN intermediate size), to find the FFN MatMuls for the int8 plans.
    export_model: what is exported when it is not `model` itself (a wrapper returning logits first, then the
    `extra_outputs`, e.g. an embedding); the checks compare the logits."""
    fp32_path, int8_path = out_dir / "model.onnx", out_dir / "model_int8.onnx"
    export_onnx(export_model or model, fp32_path, example, opset, {"logits": logits_axes or {0: "batch"}, **(extra_outputs or {})})

    with torch.no_grad():
        ref = model(*check_batch).numpy()
    max_diff = float(np.abs(ort_logits(ort_session(fp32_path), check_batch) - ref).max())
    if max_diff >= tolerance:
        raise ExportError(f"ONNX check failed: fp32 ONNX logits differ from PyTorch by {max_diff:.2e} "
                          f"(tolerance {tolerance:g})")

    reference_pred = reference_logits.argmax(-1)
    attempts = []
    for plan, keep_fp32 in quantization_plans(fp32_path, *ffn_shape):
        quantize_int8(fp32_path, int8_path, keep_fp32)
        int8_logits, latency_ms = one_at_a_time(ort_session(int8_path), samples)
        agreement = float((int8_logits.argmax(-1) == reference_pred).mean())
        attempts.append({"plan": plan, "kept_fp32": len(keep_fp32), "argmax_agreement": agreement,
                         "bytes": int8_path.stat().st_size})
        print(f"int8 plan {plan}: argmax agreement with fp32 {agreement:.2%}", file=sys.stderr, flush=True)
        if agreement >= min_agreement:
            break
    if agreement < min_agreement:
        raise ExportError(f"ONNX check failed: int8 argmax agrees with fp32 on {agreement:.1%} of holdout "
                          f"(need {min_agreement:.0%}) even with {plan}")

    check = {
        "fp32_max_abs_logit_diff": max_diff, "fp32_tolerance": tolerance, "fp32_n_compared": len(ref),
        "int8_argmax_agreement": agreement, "int8_min_agreement": min_agreement,
        "int8_n_compared": len(samples), "int8_plan": plan, "int8_attempts": attempts,
        "passed": True,  # both checks above raise otherwise
    }
    return Export(fp32_path, int8_path, int8_logits, latency_ms, plan, keep_fp32, check)
