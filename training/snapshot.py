"""Dataset snapshots: reading, validating and (for bootstrapping) creating them.

A snapshot is the only input of the trainer. It is produced by the Node CLI
(`dataset export`) as JSON Lines, one example per line:

    {"text": "where is my parcel", "label": "order_status", "split": "train", "source": "seed"}

`load_snapshot` validates the whole file and raises `SnapshotError` (one-line,
human-readable message) on the first problem found. It imports nothing heavy,
so bad files are refused quickly.

CLI:
    python -m training.snapshot validate SNAPSHOT.jsonl
    python -m training.snapshot from-csv IN.csv OUT.jsonl
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field

MAX_TEXT_CHARS = 2000
SPLITS = ("train", "holdout", "validation")  # validation: optional, fits calibration and thresholds only
SOURCES = ("seed", "import", "staff")
FIELDS = {"text": str, "label": str, "split": str, "source": str}
HOLDOUT_PERCENT = 20  # from-csv: bucket < 20 of 100 -> holdout


class SnapshotError(Exception):
    """A snapshot that must not be trained on. str(e) is a one-line message."""


@dataclass
class Example:
    text: str
    label: str
    split: str
    source: str
    line: int  # 1-based line number in the snapshot file


@dataclass
class Snapshot:
    path: str
    sha256: str  # of the file bytes
    labels: list[str]  # sorted; index order of the model's outputs
    train: list[Example] = field(default_factory=list)
    holdout: list[Example] = field(default_factory=list)
    validation: list[Example] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "labels": self.labels,
            "n_train": len(self.train),
            "n_holdout": len(self.holdout),
            "n_validation": len(self.validation),
            "train_per_label": dict(sorted(Counter(e.label for e in self.train).items())),
            "holdout_per_label": dict(sorted(Counter(e.label for e in self.holdout).items())),
            "warnings": self.warnings,
        }


# JavaScript's \s set, spelled out so that Python and Node normalise identically
# (Python's str.split() uses a slightly different whitespace set).
_WS = re.compile("[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+")


def normalize_text(text: str) -> str:
    """Lowercase, trim, collapse whitespace runs to one space.

    Node equivalent: text.toLowerCase().split(/\\s+/).filter(Boolean).join(" ")
    """
    return " ".join(t for t in _WS.split(text.lower()) if t)


def holdout_bucket(text: str) -> int:
    """0..99: int(first 8 hex digits of sha256(utf8(normalize_text(text)))) mod 100."""
    digest = hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()
    return int(digest[:8], 16) % 100


def split_for(text: str) -> str:
    return "holdout" if holdout_bucket(text) < HOLDOUT_PERCENT else "train"


def _parse_line(raw: str, lineno: int) -> Example:
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as e:
        raise SnapshotError(f"line {lineno}: invalid JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(obj, dict):
        raise SnapshotError(f"line {lineno}: expected a JSON object, got {type(obj).__name__}")
    for name, typ in FIELDS.items():
        if name not in obj:
            raise SnapshotError(f"line {lineno}: missing field '{name}'")
        if not isinstance(obj[name], typ):
            raise SnapshotError(
                f"line {lineno}: field '{name}' must be a string, got {type(obj[name]).__name__}"
            )
    extra = sorted(set(obj) - set(FIELDS))
    if extra:
        raise SnapshotError(f"line {lineno}: unexpected field(s) {', '.join(repr(k) for k in extra)}")
    text, label, split, source = obj["text"], obj["label"], obj["split"], obj["source"]
    if not text.strip():
        raise SnapshotError(f"line {lineno}: empty text")
    if len(text) > MAX_TEXT_CHARS:
        raise SnapshotError(f"line {lineno}: text is {len(text)} characters (max {MAX_TEXT_CHARS})")
    if not label.strip():
        raise SnapshotError(f"line {lineno}: empty label")
    if split not in SPLITS:
        raise SnapshotError(f"line {lineno}: unknown split {split!r} (expected train, holdout or validation)")
    if source not in SOURCES:
        raise SnapshotError(f"line {lineno}: unknown source {source!r} (expected seed, import or staff)")
    return Example(text=text, label=label, split=split, source=source, line=lineno)


def load_snapshot(path: str) -> Snapshot:
    """Read and validate a snapshot file. Raises SnapshotError."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise SnapshotError(f"cannot read snapshot {path}: {e.strerror or e}") from None
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SnapshotError(f"snapshot {path} is not valid UTF-8 (byte offset {e.start})") from None
    if content.startswith("\ufeff"):
        content = content[1:]

    examples: list[Example] = []
    for lineno, raw in enumerate(content.split("\n"), start=1):
        if not raw.strip():
            continue  # blank lines (e.g. the trailing newline) carry nothing
        examples.append(_parse_line(raw, lineno))
    if not examples:
        raise SnapshotError("snapshot has no examples")

    # The same (normalised) text must not carry two labels, in any split.
    first_seen: dict[str, Example] = {}
    for ex in examples:
        key = normalize_text(ex.text)
        prev = first_seen.setdefault(key, ex)
        if prev.label != ex.label:
            raise SnapshotError(
                f"line {ex.line}: text {_short(ex.text)} is labelled {ex.label!r} "
                f"but line {prev.line} labels it {prev.label!r}"
            )

    train = [e for e in examples if e.split == "train"]
    holdout = [e for e in examples if e.split == "holdout"]
    validation = [e for e in examples if e.split == "validation"]
    labels = sorted({e.label for e in examples})
    if len(labels) < 2:
        raise SnapshotError(f"snapshot has {len(labels)} label(s); at least 2 are needed")
    per_label = Counter(e.label for e in train)
    thin = [lab for lab in labels if per_label[lab] < 2]
    if thin:
        shown = ", ".join(f"{lab!r} ({per_label[lab]})" for lab in thin[:5])
        more = f" and {len(thin) - 5} more" if len(thin) > 5 else ""
        raise SnapshotError(f"label(s) with fewer than 2 training examples: {shown}{more}")
    if not holdout:
        raise SnapshotError("holdout split is empty; it is needed to measure the model")

    snap = Snapshot(path=path, sha256=sha256, labels=labels, train=train, holdout=holdout, validation=validation)
    train_keys = {normalize_text(e.text) for e in train}
    leaked = sum(1 for e in holdout if normalize_text(e.text) in train_keys)
    if leaked:
        snap.warnings.append(f"{leaked} holdout text(s) also appear in train; holdout scores are inflated")
    missing = [lab for lab in labels if lab not in {e.label for e in holdout}]
    if missing:
        snap.warnings.append(f"{len(missing)} label(s) have no holdout examples: {', '.join(missing)}")
    return snap


def _short(text: str, n: int = 60) -> str:
    text = normalize_text(text)
    return repr(text if len(text) <= n else text[: n - 1] + "…")


def csv_to_snapshot(csv_path: str, out_path: str) -> dict:
    """Convert a CSV of labelled utterances into a snapshot file.

    The CSV needs a header with a `text` column and a `label` (or `intent`)
    column; an optional `source` column is kept when valid, else "seed".
    Split: holdout iff holdout_bucket(text) < 20 (see split_for); Node uses the
    same rule. Exact duplicate (normalised text, label) rows are dropped.
    Returns a small summary dict. Raises SnapshotError on unusable input.
    """
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            fieldnames = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise SnapshotError(f"cannot read CSV {csv_path}: {e}") from None
    label_col = "label" if "label" in fieldnames else "intent" if "intent" in fieldnames else None
    if "text" not in fieldnames or label_col is None:
        raise SnapshotError(f"CSV {csv_path} needs 'text' and 'label' (or 'intent') columns, has {fieldnames}")

    seen: set[tuple[str, str]] = set()
    out_lines = []
    n_dupes = n_holdout = 0
    for row in rows:
        row = {(k or "").strip().lower(): v for k, v in row.items()}
        text = (row.get("text") or "").strip()
        label = (row.get(label_col) or "").strip()
        if not text and not label:
            continue
        key = (normalize_text(text), label)
        if key in seen:
            n_dupes += 1
            continue
        seen.add(key)
        source = (row.get("source") or "").strip()
        rec = {
            "text": text,
            "label": label,
            "split": split_for(text),
            "source": source if source in SOURCES else "seed",
        }
        n_holdout += rec["split"] == "holdout"
        out_lines.append(json.dumps(rec, ensure_ascii=False))

    tmp = f"{out_path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(out_lines) + ("\n" if out_lines else ""))
    os.replace(tmp, out_path)
    return {"out": out_path, "rows": len(out_lines), "holdout": n_holdout,
            "train": len(out_lines) - n_holdout, "duplicates_dropped": n_dupes}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.snapshot", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("validate", help="validate a snapshot and print a JSON summary")
    v.add_argument("snapshot")
    c = sub.add_parser("from-csv", help="convert a CSV (text,label[,source]) into a snapshot")
    c.add_argument("csv_path")
    c.add_argument("out_path")
    args = p.parse_args(argv)
    try:
        if args.cmd == "validate":
            print(json.dumps(load_snapshot(args.snapshot).summary(), ensure_ascii=False))
        else:
            print(json.dumps(csv_to_snapshot(args.csv_path, args.out_path)))
    except SnapshotError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
