#!/usr/bin/env bash
# `npm run models:build:seed-lm`: the seed language model, SmolLM2 fine-tuned on the team's seed answers
# (training/data/lm_seed.jsonl), into models/lm-versions/seed-<sha12 of the snapshot>, rebuilt only when the
# snapshot changes. The snapshot is rendered by the same prompt builder serving uses (`dataset export --kind
# lm --seed-only`, no database). Not part of `npm run models:build`: on 2 busy cores it took over 30 minutes
# (README, "Fine-tuning the language model"); on a GPU it is seconds (TRAIN_DEVICE=cuda).
set -euo pipefail
cd "$(dirname "$0")/.."
bash training/build_models.sh
PY=.venv/bin/python

lm_snapshot=models/.cache/lm_seed_snapshot.jsonl
npx loopdesk dataset export --kind lm --seed-only --out "$lm_snapshot" >/dev/null
lm_seed=models/lm-versions/seed-$(sha256sum "$lm_snapshot" | cut -c1-12)
if [ -f "$lm_seed/manifest.json" ]; then
  echo "seed language model up to date: $lm_seed"
else
  # One epoch: the holdout loss fell from 0.62 to 0.10 in it (README).
  echo "fine-tuning the seed language model on training/data/lm_seed.jsonl (10-30 minutes on 2 cores)"
  $PY -m training.train_lm --data "$lm_snapshot" --out "$lm_seed" --device "${TRAIN_DEVICE:-auto}" --epochs 1 --overwrite
fi
