"""What the trainer promises Node: one macro-F1 with lib/training/evaluate.ts, strict JSON on stdout."""

import json
import math

import numpy as np
import pytest

from training.metrics import macro_f1
from training.tests.util import DATA_DIR
from training.train import emit, write_json

CASE = json.loads((DATA_DIR / "macro_f1_case.json").read_text())


def test_macro_f1_matches_the_gate():
    # tests/unit/macro-f1.test.ts scores the same case with lib/training/evaluate.ts `score`.
    assert macro_f1(np.array(CASE["truth"]), np.array(CASE["predicted"])) == pytest.approx(CASE["macro_f1"], abs=1e-12)
    # the same with the integer label ids the trainer uses
    ids = {lab: i for i, lab in enumerate(sorted(set(CASE["truth"] + CASE["predicted"])))}
    truth, pred = (np.array([ids[x] for x in CASE[k]]) for k in ("truth", "predicted"))
    assert macro_f1(truth, pred) == pytest.approx(CASE["macro_f1"], abs=1e-12)


def strict_loads(text: str):
    """json.loads that refuses NaN and Infinity, as JavaScript's JSON.parse does."""
    def refuse(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def test_non_finite_numbers_are_written_as_null(capsys, tmp_path):
    emit("PROGRESS", {"epoch": 1, "loss": math.nan, "eta_s": 3, "more": [math.inf, -math.inf, 0.5]})
    kind, payload = capsys.readouterr().out.strip().split(" ", 1)
    assert kind == "PROGRESS"
    assert strict_loads(payload) == {"epoch": 1, "loss": None, "eta_s": 3, "more": [None, None, 0.5]}

    write_json(tmp_path / "metrics.json", {"epochs": [{"holdout_loss": math.nan}], "accuracy": 0.5})
    assert strict_loads((tmp_path / "metrics.json").read_text()) == {"epochs": [{"holdout_loss": None}], "accuracy": 0.5}
