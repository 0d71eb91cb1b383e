#!/usr/bin/env bash
# The whole paper config end to end on one GPU with profiles/gpu, timed stage by stage,
# then Fig. 1's summary; once per precision asked for, side by side. For a machine with a
# GPU (repo root, a Python with requirements.txt installed):
#   bash bench/paper_gpu.sh OUT CIFAR_DIR [PRECISION...]   # goal: <= 10 min per run on one H200
# CIFAR_DIR holds cifar-10-batches-py/ (nothing is downloaded). PRECISION defaults to the
# GPU preset's train.precision (fp32); train.compile is the preset's. Writes to OUT:
#   <precision>/stages.tsv (stage, seconds), <precision>/snakemake.log, every job log
#   (<precision>/logs/, kept on failure too), the benchmark TSVs, fig1_summary.csv,
#   fig1_verdict.json; precisions.tsv: the stages of every precision side by side.
# All runs share one compile cache (OUT/compile-cache): each graph compiles once.
set -uo pipefail
if [ $# -lt 2 ]; then echo "usage: bash bench/paper_gpu.sh OUT CIFAR_DIR [PRECISION...]" >&2; exit 2; fi
out=$(realpath -m "$1"); cifar=$(realpath "$2"); shift 2
sm=${SNAKEMAKE:-snakemake}
py=${PYTHON:-python3}
if [ ! -f "$cifar/cifar-10-batches-py/data_batch_1" ]; then
  echo "$cifar/cifar-10-batches-py/data_batch_1 not found: give the folder holding cifar-10-batches-py" >&2; exit 2
fi
precisions=("$@")
[ ${#precisions[@]} -gt 0 ] || precisions=("$("$py" -c 'import yaml; print(yaml.safe_load(open("presets/gpu.yaml"))["train"]["precision"])')")
mkdir -p "$out/compile-cache"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$out/gpu.csv" || true
status=0

run_precision() {  # run_precision P: the paper in its own working folder, stage by stage
  local p=$1 dir=$out/$1 work
  work=${WORK:-$(mktemp -d)}/$p
  mkdir -p "$dir" "$work"
  printf 'data: {root: %s, allow_checksum_mismatch: true}\ntrain: {precision: %s, compile_cache: %s}\n' \
    "$cifar" "$p" "$out/compile-cache" > "$dir/bench.yaml"
  printf 'stage\tseconds\tstatus\n' > "$dir/stages.tsv"
  local ok=0
  for spec in "data results/data/train.pt" "main_path results/seed7/main/epoch3000/checkpoint.pt" \
              "subpaths results/fig1_verdict.json" "landscape figures/fig2.pdf" "rest all"; do
    set -- $spec
    local name=$1 start rc; shift
    start=$(date +%s.%N)
    "$sm" --profile profiles/gpu --directory "$work" --configfile presets/gpu.yaml "$dir/bench.yaml" -- "$@" \
      >> "$dir/snakemake.log" 2>&1
    rc=$?
    printf '%s\t%.1f\t%s\n' "$name" "$(echo "$(date +%s.%N) - $start" | bc)" "$rc" | tee -a "$dir/stages.tsv"
    if [ $rc -ne 0 ]; then ok=1; break; fi
  done
  cp -r "$work/logs" "$dir/" 2>/dev/null || true   # every job log, failed runs included
  cp "$work"/results/fig1_summary.csv "$work"/results/fig1_verdict.json "$dir/" 2>/dev/null || true
  tar -C "$work" -czf "$dir/benchmarks.tgz" benchmarks 2>/dev/null || true
  return $ok
}

for p in "${precisions[@]}"; do
  run_precision "$p" || { status=1; echo "precision $p failed: see $out/$p/logs and $out/$p/snakemake.log"; }
done
"$py" - "$out" "${precisions[@]}" <<'PY'
import csv, json, sys
from pathlib import Path
out, precisions = Path(sys.argv[1]), sys.argv[2:]
stages = {p: {r["stage"]: r for r in csv.DictReader(open(out / p / "stages.tsv"), delimiter="\t")} for p in precisions}
names = list(dict.fromkeys(s for p in precisions for s in stages[p]))
rows = ["stage\t" + "\t".join(precisions)]
for s in names + ["total"]:
    cells = [stages[p][s]["seconds"] if s in stages[p] else "-" for p in precisions] if s != "total" else \
        [f"{sum(float(r['seconds']) for r in stages[p].values()):.1f}" for p in precisions]
    rows.append(f"{s}\t" + "\t".join(cells))
rows.append("target: whole paper <= 600 s per precision on one H200")
(out / "precisions.tsv").write_text("\n".join(rows) + "\n")
print("\n".join(rows))
for p in precisions:
    verdict = out / p / "fig1_verdict.json"
    if verdict.exists():
        v = json.loads(verdict.read_text())
        print(f"Fig. 1 ({p}):", v["verdict"])
        for key in ("n_seeds", "later_decay", "gain_change", "gain_change_ci95", "mde", "regime", "main_change"):
            print(f"  {key}: {v.get(key)}")
PY
exit $status
