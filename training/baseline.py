"""A classical baseline for the intent classifier: TF-IDF + logistic regression.

    python -m training.baseline --data SNAPSHOT.jsonl

Word 1-2-grams and character 2-5-grams (within word boundaries), trained on the
train split, scored on the holdout. Prints one JSON object on stdout:
{accuracy, macro_f1, train_seconds, p50_ms, p99_ms, n_train, n_holdout}, where
the latencies are for predicting one message at a time, and macro-F1 averages over
the labels present in the holdout, as the trainer's does (training/metrics.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.pipeline import make_pipeline, make_union

from training.metrics import macro_f1
from training.snapshot import SnapshotError, load_snapshot


def build_pipeline(seed: int = 0):
    features = make_union(
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), lowercase=True, sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=True, sublinear_tf=True),
    )
    return make_pipeline(features, LogisticRegression(C=10.0, max_iter=2000, random_state=seed))


def run(data: str, seed: int = 0, latency_rounds: int = 1) -> dict:
    snap = load_snapshot(data)
    x_train, y_train = [e.text for e in snap.train], [e.label for e in snap.train]
    x_test, y_test = [e.text for e in snap.holdout], [e.label for e in snap.holdout]

    clf = build_pipeline(seed)
    t0 = time.perf_counter()
    clf.fit(x_train, y_train)
    train_seconds = time.perf_counter() - t0

    pred = clf.predict(x_test)
    for text in x_test[:5]:
        clf.predict([text])  # warm-up
    lat = []
    for _ in range(latency_rounds):
        for text in x_test:
            t = time.perf_counter()
            clf.predict([text])
            lat.append((time.perf_counter() - t) * 1000)
    return {
        "accuracy": float(accuracy_score(y_test, pred)),
        "macro_f1": macro_f1(y_test, pred),
        "train_seconds": round(train_seconds, 4),
        "p50_ms": round(float(np.percentile(lat, 50)), 4),
        "p99_ms": round(float(np.percentile(lat, 99)), 4),
        "n_train": len(x_train),
        "n_holdout": len(x_test),
        "dataset_sha256": snap.sha256,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.baseline", description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="snapshot JSONL file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--latency-rounds", type=int, default=1, help="passes over the holdout when timing")
    args = p.parse_args(argv)
    try:
        result = run(args.data, args.seed, max(1, args.latency_rounds))
    except SnapshotError as e:
        print(f"error: {args.data}: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
