#!/usr/bin/env bash
# The whole paper config end to end on one GPU with profiles/gpu, timed stage by stage,
# then Fig. 1's summary. For a machine with a GPU (repo root, a Python with
# requirements.txt installed, CIFAR-10 under data/cifar10 or ../shared/data):
#   bash bench/paper_gpu.sh "$OUT"            # goal: <= 10 min on one H200
# Writes, to the folder given (default bench/out/paper_gpu): stages.tsv (stage, seconds),
# snakemake.log, the benchmark TSVs of every job, fig1_summary.csv, fig1_verdict.json.
set -euo pipefail
out=$(realpath -m "${1:-bench/out/paper_gpu}")
work=${WORK:-$(mktemp -d)}
sm=${SNAKEMAKE:-snakemake}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$out/gpu.csv" || true
data=()
if [ -f ../shared/data/cifar-10-batches-py/data_batch_1 ]; then
  printf 'data: {root: %s, allow_checksum_mismatch: true}\n' "$(realpath ../shared/data)" > "$work/data.yaml"
  data=("$work/data.yaml")
fi
stage() {  # stage NAME TARGET...: run the targets, record the wall seconds
  local name=$1 start; shift
  start=$(date +%s.%N)
  "$sm" --profile profiles/gpu --directory "$work" --configfile presets/gpu.yaml "${data[@]}" -- "$@" \
    >> "$out/snakemake.log" 2>&1
  printf '%s\t%.1f\n' "$name" "$(echo "$(date +%s.%N) - $start" | bc)" | tee -a "$out/stages.tsv"
}
printf 'stage\tseconds\n' > "$out/stages.tsv"
stage data results/data/train.pt
stage main_path "results/seed7/main/epoch3000/checkpoint.pt"
stage subpaths results/fig1_verdict.json
stage landscape figures/fig2.pdf
stage rest all
cp "$work"/results/fig1_summary.csv "$work"/results/fig1_verdict.json "$out/"
tar -C "$work" -czf "$out/benchmarks.tgz" benchmarks
python3 - "$out" <<'PY'
import json, sys
verdict = json.load(open(f"{sys.argv[1]}/fig1_verdict.json"))
print("Fig. 1:", verdict["verdict"])
for key in ("n_seeds", "plateau", "main_slope", "spearman_rho", "spearman_p", "slope_vs_decay"):
    print(f"  {key}: {verdict.get(key)}")
PY
