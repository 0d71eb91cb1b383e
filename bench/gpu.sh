#!/usr/bin/env bash
# The GPU speed targets, as one short script for a lent device machine (repo root, a Python
# with requirements.txt installed). JSON goes to the folder given (default bench/out):
#   train_gpu.json      engine vs. the authors' style of loop on a 5,000-image subset
#                       (targets: >= 10x, and <= 50 ms per vgg_small epoch);
#   landscape_gpu.json  chunk evaluator vs. the naive loop, and projected_paper_grid_s
#                       (target: the authors' 1,302 x 55,000 grid in <= 120 s).
# Without ../shared/data the benchmarks time random images of the same shapes.
#
#   bash bench/gpu.sh "$OUT"        # ~3-5 min
set -euo pipefail
out=${1:-bench/out}
py=${PYTHON:-python3}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$out/gpu.csv" || true
"$py" bench/train.py --device cuda --per-class 500 --epochs 8 --out "$out/train_gpu.json"
"$py" bench/landscape.py --device cuda --points 16 --train 10000 --test 5000 --batch 1000 \
    --points-per-pass 1 8 --repeats 2 --out "$out/landscape_gpu.json"
