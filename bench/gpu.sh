#!/usr/bin/env bash
# The GPU speed checks, as one short script for a lent device machine (repo root, a Python
# with requirements.txt installed), in the configuration the workflow runs: the GPU preset's
# train.compile and train.precision (presets/gpu.yaml), cuDNN's TF32 off under fp32,
# train.deterministic on. JSON goes to the folder given (default bench/out):
#   gpu_check/          bench/gpu_check.py --quick: toolchain, host syncs, CUDA graphs,
#                       the pack of 11, fp32/tf32/bf16 side by side, repeatability, resume
#   train_gpu_<p>.json  engine vs. the authors' style of loop on 5,000 images, for the
#                       preset's precision and then the others (targets: <= 15 ms per
#                       vgg_small epoch, >= 10x the authors' loop)
#   precisions.tsv      the precisions side by side (ms per epoch, speed-up, vs fp32)
#   landscape_gpu.json  chunk evaluator vs. the naive loop, and projected_paper_grid_s
#                       (target: the authors' 1,302 x 55,000 grid in <= 120 s).
# Without ../shared/data the benchmarks time random images of the same shapes.
#
#   bash bench/gpu.sh "$OUT"        # ~6-8 min (first compiles included)
set -uo pipefail
out=${1:-bench/out}
py=${PYTHON:-python3}
mkdir -p "$out"
read -r compile precision < <("$py" -c 'import yaml; t = yaml.safe_load(open("presets/gpu.yaml"))["train"]
print(t["compile"], t["precision"])')
cache=$(realpath -m results/.compile-cache)   # the workflow's own compile cache
status=0
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$out/gpu.csv" || true
"$py" bench/gpu_check.py "$out/gpu_check" --quick --compile "$compile" --compile-cache "$cache" || status=1
for p in "$precision" $(printf '%s\n' fp32 tf32 bf16 | grep -vx "$precision"); do
  "$py" bench/train.py --device cuda --per-class 500 --epochs 8 --compile "$compile" --precision "$p" \
      --out "$out/train_gpu_$p.json" > "$out/train_gpu_$p.log" 2>&1 || { status=1; echo "train.py $p failed"; }
done
"$py" - "$out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
lines = ["precision\tengine_ms_per_epoch\tspeedup_vs_authors\tspeed_vs_fp32\tmeets_15ms"]
for p in ("fp32", "tf32", "bf16"):
    f = out / f"train_gpu_{p}.json"
    if f.exists():
        r = json.loads(f.read_text())
        vs = r.get("vs_fp32", {}).get("median", 1.0)
        t = r["targets"]
        lines.append(f"{p}\t{t['engine_ms_per_epoch']:.1f}\t{r['speedup']:.1f}\t{vs:.2f}\t{t['meets_ms']}")
(out / "precisions.tsv").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY
"$py" bench/landscape.py --device cuda --points 16 --train 10000 --test 5000 --batch 1000 \
    --points-per-pass 1 8 --repeats 2 --out "$out/landscape_gpu.json" || status=1
exit $status
