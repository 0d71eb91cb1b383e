"""Speed of the vectorized toy SGD simulator against a per-chain Python loop.

Both run the same label-noise update on the same noise stream (reparam model,
d = 50, n = 10, the drift experiment's size), side by side in one process: the
loop takes the textbook d-dimensional gradient step one chain at a time; the
simulator steps all chains at once in the span form of latedecay.toy.chains.
The JSON holds chain-steps per second for each and their ratio (target >= 50),
for each chain count given (80 = the drift experiment's chains). Drawing the
label noise (n normals per chain-step) bounds the ratio near 100 here.

    .venv/bin/python bench/toy.py [--out bench/out/toy.json] [--chains 80 256 1024 4096]
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))

from latedecay.toy.models import make_model  # noqa: E402
from latedecay.toy.reference import simulate_loop  # noqa: E402
from latedecay.toy.simulate import LRSchedule, Noise, simulate  # noqa: E402


def problem(d, n, chains, seed=0):
    rng = np.random.default_rng(seed)
    model = make_model("reparam", 2.0)
    X = rng.standard_normal((n, d))
    w_star = rng.standard_normal(d) / np.sqrt(d)
    w0 = np.broadcast_to(rng.standard_normal(d) * 1.2 / np.sqrt(d), (1, chains, d)).copy()
    return model, X, X @ model.beta(w_star), w0


def best_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def measure(args, chains):
    model, X, y, w0 = problem(args.d, args.n, chains)
    schedule, noise = LRSchedule(0.05), Noise("label_noise", sigma=0.22, seed=1)
    t_vec, _ = best_time(lambda: simulate(model, X, y, w0, schedule, noise, args.steps), args.repeats)
    t_loop, w_loop = best_time(lambda: simulate_loop(model, X, y, w0, schedule, noise, args.loop_steps), args.repeats)
    w_vec = simulate(model, X, y, w0, schedule, noise, args.loop_steps)[0]
    vec_rate, loop_rate = chains * args.steps / t_vec, chains * args.loop_steps / t_loop
    return {
        "d": args.d,
        "n": args.n,
        "chains": chains,
        "vectorized_chain_steps_per_s": vec_rate,
        "vectorized_us_per_step": 1e6 * t_vec / args.steps,
        "loop_chain_steps_per_s": loop_rate,
        "speedup": vec_rate / loop_rate,
        "max_abs_diff_vs_loop": float(np.abs(w_vec - w_loop).max()),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench/out/toy.json")
    ap.add_argument("--chains", type=int, nargs="+", default=[80, 256, 1024, 4096])
    ap.add_argument("--d", type=int, default=50)
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--steps", type=int, default=4000, help="vectorized steps")
    ap.add_argument("--loop-steps", type=int, default=40, help="per-chain-loop steps")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    runs = [measure(args, chains) for chains in args.chains]
    result = {
        "what": "reparam label-noise SGD: chain-steps per second, vectorized vs per-chain loop",
        "target_speedup": 50,
        "runs": runs,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        },
    }
    text = json.dumps(result, indent=1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
