"""What a trained classifier does with its scores, fitted on validation data.

    fit_temperature(logits, y) -> T                 temperature scaling (softmax(logits / T)), by NLL
    fit_mahalanobis(emb, y, ignore) -> Mahalanobis   class means + shared covariance of the training embeddings
    fit_decision(...) -> dict                        out-of-scope method and thresholds, chosen on validation

The decision these thresholds feed is lib/chat/decide.ts: a message is answered as its top intent only
if that intent is not the out-of-scope class, its (calibrated) probability reaches the intent's threshold
and, where the model has one, its Mahalanobis distance stays under the distance threshold.
`answered` below is that rule, for fitting; the bench scores the served model with decide.ts itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score

from training.metrics import expected_calibration_error, softmax

# The label of the out-of-scope class (lib/chat/decide.ts OUT_OF_SCOPE).
OUT_OF_SCOPE = "out_of_scope"
# Per-intent thresholds stay within this distance of the global one ...
PER_INTENT_RANGE = 0.2
# ... and at most at this percentile of the intent's correctly classified validation probabilities,
# so every intent keeps answering most of what it gets right (none becomes unreachable).
PER_INTENT_MAX_PERCENTILE = 20
METHODS = ("oos_class", "oos_class+max_prob", "oos_class+mahalanobis", "oos_class+max_prob+mahalanobis")


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The T > 0 minimising the negative log-likelihood of softmax(logits / T): a log-spaced grid, then a
    finer one around its best point (one parameter: a grid is exact enough and cannot diverge)."""
    logits = logits.astype(np.float64)

    def nll(t: float) -> float:
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        return float(-(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(axis=1))).mean())

    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 200))
    best = min(grid, key=nll)
    fine = np.linspace(best / 1.05, best * 1.05, 101)
    return float(min(fine, key=nll))


def expected_calibration_error_at(logits: np.ndarray, y: np.ndarray, temperature: float) -> float:
    return expected_calibration_error(softmax(logits.astype(np.float64) / temperature), y)


@dataclass
class Mahalanobis:
    """d(x) = min over classes c of sqrt((x - mean_c)^T P (x - mean_c)), P the shared precision matrix.
    Stored as `transform` W with P = W^T W (W = L^T, P = L L^T) and the class means mapped by W, so that
    d(x) = min_c |W x - W mean_c|: one matrix-vector product per message."""

    labels: list[str]  # the classes with a mean, in the order of `means`
    transform: np.ndarray  # [dim, dim]
    means: np.ndarray  # [classes, dim], already multiplied by transform

    def scores(self, emb: np.ndarray) -> np.ndarray:
        z = emb.astype(np.float64) @ self.transform.T  # [n, dim]
        d2 = (z * z).sum(1)[:, None] - 2 * z @ self.means.T + (self.means * self.means).sum(1)[None, :]
        return np.sqrt(np.maximum(d2.min(axis=1), 0.0))

    def to_json(self) -> dict:
        return {"labels": self.labels, "dim": int(self.transform.shape[0]),
                "transform": self.transform.astype(np.float32).ravel().tolist(),
                "means": self.means.astype(np.float32).ravel().tolist()}


def fit_mahalanobis(emb: np.ndarray, y: np.ndarray, labels: list[str], ignore: set[str], shrinkage: float = 1e-3) -> Mahalanobis:
    """Class means and one shared (within-class) covariance of the training embeddings. Classes in `ignore`
    (the out-of-scope class: a mixture, not a cluster) get no mean and do not shape the covariance.
    `shrinkage` times the mean variance is added to the diagonal so the inverse exists."""
    emb = emb.astype(np.float64)
    kept = [i for i, lab in enumerate(labels) if lab not in ignore and (y == i).any()]
    means = np.stack([emb[y == i].mean(axis=0) for i in kept])
    centred = np.concatenate([emb[y == i] - means[k] for k, i in enumerate(kept)])
    cov = centred.T @ centred / max(1, len(centred) - len(kept))
    cov += shrinkage * np.trace(cov) / len(cov) * np.eye(len(cov))
    precision = np.linalg.inv(cov)
    precision = (precision + precision.T) / 2
    w = np.linalg.cholesky(precision).T  # P = L L^T = W^T W
    return Mahalanobis(labels=[labels[i] for i in kept], transform=w, means=means @ w.T)


def answered(probs: np.ndarray, dist: np.ndarray | None, oos_id: int | None, per_intent: np.ndarray,
             max_dist: float | None) -> np.ndarray:
    """Per row, whether the decision answers it as its top intent (see the module docstring)."""
    pred = probs.argmax(1)
    ok = probs.max(1) >= per_intent[pred]
    if oos_id is not None:
        ok &= pred != oos_id
    if max_dist is not None and dist is not None:
        ok &= dist <= max_dist
    return ok


def outcome(probs, dist, y, oos_id, per_intent, max_dist) -> dict:
    """in_scope_accuracy (right intent and answered), oos_recall (OOS rows not answered), oos_precision
    (share of the rows not answered that are OOS), as bench:classifier reports them."""
    ans = answered(probs, dist, oos_id, per_intent, max_dist)
    is_oos = y == oos_id if oos_id is not None else np.zeros(len(y), bool)
    right = ans & (probs.argmax(1) == y)
    rejected = ~ans
    return {"in_scope_accuracy": float(right[~is_oos].mean()) if (~is_oos).any() else None,
            "oos_recall": float(rejected[is_oos].mean()) if is_oos.any() else None,
            "oos_precision": float(is_oos[rejected].mean()) if rejected.any() else None}


def auroc(is_oos: np.ndarray, score: np.ndarray) -> float | None:
    """AUROC of `score` (higher = more out of scope) at telling OOS rows from in-scope ones."""
    return float(roc_auc_score(is_oos, score)) if 0 < is_oos.sum() < len(is_oos) else None


def _candidates(values: np.ndarray, n: int = 60) -> np.ndarray:
    return np.unique(np.quantile(values, np.linspace(0, 1, n)))


def fit_decision(logits: np.ndarray, emb_dist: np.ndarray | None, y: np.ndarray, labels: list[str],
                 temperature: float, budget: float) -> dict:
    """Chooses the out-of-scope method and its thresholds on validation rows (`y` = their label ids).

    For each method of METHODS that the model supports, the thresholds are the ones with the highest OOS
    recall among those that keep in-scope accuracy within `budget` of the model's accuracy with no threshold
    (argmax only, the out-of-scope class included). The winner is the method with the highest OOS recall
    (then in-scope accuracy, then the simpler). Methods with a probability threshold then get per-intent
    thresholds (bounded, see PER_INTENT_RANGE / PER_INTENT_MAX_PERCENTILE), kept only if the budget still
    holds with them. A method without a probability threshold stores a global threshold of 0."""
    probs = softmax(logits.astype(np.float64) / temperature)
    oos_id = labels.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in labels else None
    if oos_id is None or not (y == oos_id).any():
        return {"method": None, "reason": f"no {OUT_OF_SCOPE} rows in the validation data", "methods": {}}
    is_oos = y == oos_id
    n = len(labels)
    base = outcome(probs, emb_dist, y, oos_id, np.zeros(n), None)
    floor = base["in_scope_accuracy"] - budget
    in_scope_top = np.delete(probs, oos_id, axis=1).max(1)
    scores = {"max_prob": auroc(is_oos, 1 - in_scope_top), "oos_class": auroc(is_oos, probs[:, oos_id])}
    if emb_dist is not None:
        scores["mahalanobis"] = auroc(is_oos, emb_dist)

    prob_grid = np.concatenate([[0.0], _candidates(probs.max(1))])
    dist_grid = [None] if emb_dist is None else [None, *_candidates(emb_dist)]
    methods: dict[str, dict] = {}
    for method in METHODS:
        use_prob, use_dist = "max_prob" in method, "mahalanobis" in method
        if use_dist and emb_dist is None:
            continue
        best = None
        for t in prob_grid if use_prob else [0.0]:
            for d in dist_grid if use_dist else [None]:
                if use_dist and d is None:
                    continue
                r = outcome(probs, emb_dist, y, oos_id, np.full(n, t), d)
                if r["in_scope_accuracy"] < floor:
                    continue
                key = (r["oos_recall"], r["in_scope_accuracy"])
                if best is None or key > best[0]:
                    best = (key, t, d)
        _, t, d = best if best else ((0, 0), 0.0, None)
        per_intent = per_intent_thresholds(probs, emb_dist, y, oos_id, t, d) if use_prob else np.full(n, t)
        if outcome(probs, emb_dist, y, oos_id, per_intent, d)["in_scope_accuracy"] < floor:
            per_intent = np.full(n, t)  # per-intent thresholds that break the budget are not used
        methods[method] = {
            "global": float(t),
            "per_intent": {labels[i]: float(per_intent[i]) for i in range(n) if use_prob and i != oos_id and per_intent[i] != t},
            "oos_score": None if d is None else float(d),
            "validation": outcome(probs, emb_dist, y, oos_id, per_intent, d),
            "validation_global_only": outcome(probs, emb_dist, y, oos_id, np.full(n, t), d),
        }
    order = {m: i for i, m in enumerate(METHODS)}
    winner = max(methods, key=lambda m: (methods[m]["validation"]["oos_recall"], methods[m]["validation"]["in_scope_accuracy"], -order[m]))
    return {"method": winner, "budget": budget, "no_threshold": base, "auroc": scores, "methods": methods}


def per_intent_thresholds(probs, dist, y, oos_id, t: float, max_dist: float | None) -> np.ndarray:
    """Per intent, the threshold in [t - PER_INTENT_RANGE, t + PER_INTENT_RANGE] that maximises (right
    answers - wrong answers) among the validation rows predicted as that intent (ties: closest to t),
    capped at the PER_INTENT_MAX_PERCENTILE-th percentile of its right answers' probabilities."""
    pred, top = probs.argmax(1), probs.max(1)
    passes_dist = np.ones(len(y), bool) if max_dist is None or dist is None else dist <= max_dist
    out = np.full(probs.shape[1], t)
    for c in range(probs.shape[1]):
        rows = (pred == c) & passes_dist
        if c == oos_id or not rows.any():
            continue
        p, right = top[rows], y[rows] == c
        lo, hi = max(0.0, t - PER_INTENT_RANGE), min(1.0, t + PER_INTENT_RANGE)
        cands = np.unique(np.clip(np.concatenate([[t], p]), lo, hi))
        gain = [(int(((p >= x) & right).sum() - ((p >= x) & ~right).sum()), -abs(x - t), x) for x in cands]
        best = float(max(gain)[2])
        if right.any():
            best = min(best, float(np.percentile(p[right], PER_INTENT_MAX_PERCENTILE)))
        out[c] = best
    return out
