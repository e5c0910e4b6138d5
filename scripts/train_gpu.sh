#!/usr/bin/env bash
# Train several detectors side by side on one GPU machine (the `device` tool) within a time limit.
#
#   scripts/train_gpu.sh MINUTES WORKERS RECIPE [RECIPE ...]
#
# Expects the compact photo set and object masks in .gpu_data/ (pristine/ and masks/objects/,
# carried with the call) and $OUT (the folder whose files come back). Each recipe runs its "gpu"
# profile with --time-limit MINUTES and its own weights folder; the weights, manifest entries,
# log.csv and the console log of each come back as $OUT/<recipe>.tar. scripts/merge_weights.py
# merges them into weights/ here.
set -uo pipefail
minutes=$1; workers=$2; shift 2
export TAMPER_DATA_DIR="$PWD/.gpu_data" PYTHONPATH="$PWD" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
for recipe in "$@"; do
  mkdir -p "runs/$recipe"
  python3 -m forensics_core train "$recipe" --profile gpu --device cuda --workers "$workers" \
    --time-limit "$minutes" --out "runs/$recipe" --weights-dir "runs/$recipe/weights" --quiet \
    > "runs/$recipe/console.log" 2>&1 &
done
wait
for recipe in "$@"; do
  echo "== $recipe"; tail -n 4 "runs/$recipe/console.log"
  tar -cf "$OUT/$recipe.tar" -C "runs/$recipe" weights log.csv console.log 2>/dev/null
done
ls -la "$OUT"
