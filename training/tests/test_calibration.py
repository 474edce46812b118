"""Temperature scaling, the Mahalanobis fit and its export, and the out-of-scope threshold fit (no model needed),
plus what the trainer writes for them (the shared tiny run)."""

import json

import numpy as np
import pytest

from training import calibration as C
from training.metrics import softmax


def test_temperature_recovers_the_one_that_generated_the_labels():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(20000, 5))
    probs = softmax(logits / 2.5)
    y = np.array([rng.choice(5, p=p) for p in probs])
    t = C.fit_temperature(logits, y)
    assert t == pytest.approx(2.5, rel=0.08)
    # and it lowers the calibration error of over-confident logits
    assert C.expected_calibration_error_at(logits, y, t) < C.expected_calibration_error_at(logits, y, 1.0) / 3


def test_mahalanobis_matches_the_textbook_formula_and_ignores_the_oos_class():
    rng = np.random.default_rng(1)
    cov = np.array([[4.0, 1.5, 0.0], [1.5, 1.0, 0.2], [0.0, 0.2, 0.5]])
    means = np.array([[0, 0, 0], [6, 0, 0], [0, 6, 3]], dtype=float)
    x = np.concatenate([rng.multivariate_normal(m, cov, 3000) for m in means])
    y = np.repeat([0, 1, 2], 3000)
    # a scattered "out_of_scope" class that must neither get a mean nor widen the covariance
    x = np.concatenate([x, rng.normal(0, 30, (500, 3))])
    y = np.concatenate([y, np.full(500, 3)])
    labels = ["a", "b", "c", C.OUT_OF_SCOPE]
    maha = C.fit_mahalanobis(x, y, labels, ignore={C.OUT_OF_SCOPE}, shrinkage=0.0)
    assert maha.labels == ["a", "b", "c"]

    within = np.concatenate([x[y == i] - x[y == i].mean(0) for i in range(3)])
    precision = np.linalg.inv(within.T @ within / (len(within) - 3))
    probe = np.array([[1.0, -2.0, 0.5], [20.0, 20.0, -20.0]])
    expected = [min(np.sqrt((p - x[y == i].mean(0)) @ precision @ (p - x[y == i].mean(0))) for i in range(3)) for p in probe]
    assert maha.scores(probe) == pytest.approx(expected, rel=1e-6)
    # far from every class scores far higher than a class member
    assert maha.scores(probe)[1] > 5 * np.median(maha.scores(x[y == 0]))

    exported = maha.to_json()
    assert exported["dim"] == 3 and len(exported["transform"]) == 9 and len(exported["means"]) == 9
    # what Node computes from the JSON (lib/models/classifier.ts): min_c |W x - W mean_c|
    w = np.asarray(exported["transform"]).reshape(3, 3)
    m = np.asarray(exported["means"]).reshape(3, 3)
    node = [np.sqrt(((w @ p - m) ** 2).sum(1)).min() for p in probe]
    assert node == pytest.approx(expected, rel=1e-4)


def synthetic_validation(rng, n_intents=6, per_intent=60, n_oos=60):
    """Logits where in-scope rows are confidently right (a few wrong), out-of-scope rows spread out,
    and a distance score that separates them partly."""
    labels = [f"i{k}" for k in range(n_intents)] + [C.OUT_OF_SCOPE]
    oos = len(labels) - 1
    rows, y, dist = [], [], []
    for k in range(n_intents):
        for _ in range(per_intent):
            z = rng.normal(0, 1, len(labels))
            z[k if rng.random() > 0.05 else (k + 1) % n_intents] += rng.uniform(2, 7)
            rows.append(z)
            y.append(k)
            dist.append(rng.normal(10, 2))
    for j in range(n_oos):
        z = rng.normal(0, 1, len(labels))
        z[oos if j % 3 == 0 else rng.integers(n_intents)] += rng.uniform(0, 4)
        rows.append(z)
        y.append(oos)
        dist.append(rng.normal(16, 3))
    return np.array(rows), np.array(dist), np.array(y), labels


def test_fit_decision_keeps_the_budget_and_picks_the_best_recall():
    rng = np.random.default_rng(2)
    logits, dist, y, labels = synthetic_validation(rng)
    d = C.fit_decision(logits, dist, y, labels, temperature=1.0, budget=0.02)
    assert set(d["methods"]) == set(C.METHODS)
    floor = d["no_threshold"]["in_scope_accuracy"] - 0.02
    for name, m in d["methods"].items():
        assert m["validation"]["in_scope_accuracy"] >= floor - 1e-12, name
    winner = d["methods"][d["method"]]["validation"]["oos_recall"]
    assert winner == max(m["validation"]["oos_recall"] for m in d["methods"].values())
    # the oos class alone recalls only what argmax sends there; thresholds add to it
    assert d["methods"]["oos_class+max_prob+mahalanobis"]["validation"]["oos_recall"] > d["methods"]["oos_class"]["validation"]["oos_recall"]
    assert d["auroc"]["mahalanobis"] > 0.8
    assert d["methods"]["oos_class+mahalanobis"]["global"] == 0.0  # no probability threshold in that method


def test_per_intent_thresholds_are_bounded_so_no_intent_is_unreachable():
    rng = np.random.default_rng(3)
    logits, dist, y, labels = synthetic_validation(rng)
    probs = softmax(logits)
    oos = labels.index(C.OUT_OF_SCOPE)
    t = 0.5
    per = C.per_intent_thresholds(probs, dist, y, oos, t, None)
    pred = probs.argmax(1)
    for c in range(len(labels) - 1):
        assert t - C.PER_INTENT_RANGE - 1e-12 <= per[c] or per[c] <= np.percentile(probs.max(1)[(pred == c) & (y == c)], C.PER_INTENT_MAX_PERCENTILE)
        assert per[c] <= t + C.PER_INTENT_RANGE + 1e-12
        right = probs.max(1)[(pred == c) & (y == c)]
        assert (right >= per[c]).mean() >= 1 - C.PER_INTENT_MAX_PERCENTILE / 100 - 1e-9  # still answers most of what it gets right
    assert per[oos] == t  # the out-of-scope class never gets its own


def test_no_out_of_scope_rows_means_no_method():
    logits = np.eye(3)[[0, 1, 2, 0]] * 5
    d = C.fit_decision(logits, None, np.array([0, 1, 2, 0]), ["a", "b", "c"], 1.0, 0.01)
    assert d["method"] is None and d["methods"] == {}


def test_trainer_writes_calibration_and_mahalanobis(trained):
    out, proc = trained
    assert proc.returncode == 0, proc.stderr[-3000:]
    cal = json.loads((out / "calibration.json").read_text())
    assert cal["temperature"] > 0 and cal["fitted_on"] == "holdout" and cal["n_fitted"] == 12
    assert cal["oos_method"] is None and cal["thresholds"] is None  # the tiny snapshot has no out_of_scope rows
    maha = json.loads((out / "mahalanobis.json").read_text())
    assert maha["dim"] == 384 and len(maha["transform"]) == 384 * 384 and len(maha["means"]) == 4 * 384
    m = json.loads((out / "metrics.json").read_text())["calibration"]
    assert 0 <= m["ece_before"] <= 1 and 0 <= m["ece_after"] <= 1 and m["ece_measured_on"] == "holdout"
    assert m["temperature"] == cal["temperature"]
