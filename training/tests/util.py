"""Helpers shared by the training tests."""

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(__file__).resolve().parent / "data"
TINY = DATA_DIR / "tiny_snapshot.jsonl"  # 4 intents x 12 texts: 36 train / 12 holdout

# Small, fast trainer settings for the tiny snapshot.
TINY_ARGS = ["--epochs", "3", "--batch-size", "8", "--max-len", "24", "--seed", "7", "--log-every", "2"]


def run_module(module: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m MODULE ARGS` from the repository root, capturing output."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
