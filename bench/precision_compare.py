"""Do two precisions tell the same story? Compare two finished Fig. 1 runs of one preset.

Reads each run's results/fig1_summary.csv, fig1_verdict.json and main-path metrics.json
files (the workflow's own outputs) and asks whether the differences between the runs are
inside the seed-to-seed spread:
- main path: per seed and evaluation in the decay window, test loss (B - A); its mean over
  the window with a t interval over seeds (a systematic offset), against the seed-to-seed
  standard deviation of run A's curve;
- subpath finals: per seed and decay epoch, final test loss (B - A), the same way;
- the verdicts: the outcome words side by side.
Writes JSON (--out) and prints it.

    .venv/bin/python bench/precision_compare.py ../plateau-fp32 ../plateau-bf16 \
        --out bench/out/precision_plateau.json
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))

from latedecay import metrics, stats  # noqa: E402
from latedecay.fig1_table import per_seed_rows, read_table  # noqa: E402
from latedecay.io import load_json, save_json  # noqa: E402
from latedecay.names import MAIN  # noqa: E402

VERDICT_KEYS = ("later_decay", "later_decay_acc", "regime", "gain_change", "gain_change_ci95", "mde")


def main_curves(run):
    """{(seed, epoch): main-path test loss} from a run's main-path metrics.json files."""
    curves = {}
    for path in Path(run, "results").glob("seed*/main/epoch*/metrics.json"):
        m = metrics.load(path)
        assert m.path == MAIN, path
        curves.update({(m.seed, e): v for e, v in zip(m.eval.epoch, m.eval.test_loss)})
    return curves


def offset(diff, spread):
    """Mean over seeds of per-seed mean differences, its t interval, and the spread beside it."""
    per_seed = np.nanmean(diff, axis=1)
    mean, ci = stats.mean_ci(per_seed)
    return {
        "mean_diff": mean,
        "mean_diff_ci95": list(ci),
        "rms_diff": float(np.sqrt(np.nanmean(diff**2))),
        "seed_sd": float(spread),
        "offset_inside_seed_sd": bool(abs(mean) < spread),
    }


def compare_main(a, b, window):
    ca, cb = main_curves(a), main_curves(b)
    keys = sorted(k for k in ca if k in cb and window[0] <= k[1] <= window[1])
    seeds, epochs = sorted({s for s, _ in keys}), sorted({e for _, e in keys})
    grid = lambda c: np.array([[c.get((s, e), np.nan) for e in epochs] for s in seeds])  # noqa: E731
    ga, gb = grid(ca), grid(cb)
    return offset(gb - ga, float(np.nanmean(np.nanstd(ga, axis=0, ddof=1)))) | {"n_evals": len(epochs)}


def compare_finals(a, b):
    ta, tb = (per_seed_rows(read_table(Path(r, "results", "fig1_summary.csv"))) for r in (a, b))
    fa, fb = (t.pivot(index="seed", columns="decay_epoch", values="test_loss").to_numpy(float) for t in (ta, tb))
    return offset(fb - fa, float(np.mean(np.std(fa, axis=0, ddof=1))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_a", help="checkout of the reference run (e.g. fp32)")
    parser.add_argument("run_b", help="checkout of the compared run (e.g. bf16)")
    parser.add_argument("--out", default=str(REPO / "bench" / "out" / "precision_compare.json"))
    args = parser.parse_args()
    va, vb = (load_json(Path(r, "results", "fig1_verdict.json")) for r in (args.run_a, args.run_b))
    window = va["decay_epochs"][0], va["decay_epochs"][-1]
    result = {
        "runs": [args.run_a, args.run_b],
        "main_test_loss": compare_main(args.run_a, args.run_b, window),
        "subpath_final_test_loss": compare_finals(args.run_a, args.run_b),
        "verdicts": {k: [va.get(k), vb.get(k)] for k in VERDICT_KEYS},
        "same_outcome": va["later_decay"] == vb["later_decay"],
    }
    save_json(result, args.out)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
