"""Speed of the landscape chunk evaluator against the plain one-point-at-a-time loop.

Both evaluate the same grid points of vgg_small (float32, eval mode, train + test images)
side by side in one process, interleaved, best of ``--repeats``:
- naive: load each point into the model (vector_to_parameters), then a DataLoader in NCHW
  batches of 128 from host memory, each moved to the device (latedecay.landscape.reference,
  the tomgoldstein/loss-landscape pattern);
- chunk: GridEvaluator as a landscape_chunk job runs it (device-resident uint8 data,
  functional_call, channels_last, exact rewrites of nn.fast_eval, ``--batch`` images per
  pass), at each ``--points-per-pass`` (1 = no vmap; > 1 = vmap over stacked weights).
The JSON holds grid-point x images per second (wall clock and process CPU time) for each and
the speedups (target >= 3 on CPU). On a CPU shared with other jobs use --threads 1 and read
the CPU-time numbers. A roofline section puts the rates in FLOP/s beside the best FP32 matrix
product the device does (2048^3, same threads): a practical ceiling for an fp32 evaluator.

    .venv/bin/python bench/landscape.py [--out bench/out/landscape.json] [--threads 2]
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn.utils import parameters_to_vector
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))

from latedecay.landscape import reference  # noqa: E402
from latedecay.landscape.evaluate import GridEvaluator  # noqa: E402
from latedecay.landscape.settings import EvalSpec  # noqa: E402
from latedecay.nn.models import build_model  # noqa: E402

PAPER_GRID_POINT_IMAGES = 1302 * 55_000


def problem(points, n_train, n_test, device):
    torch.manual_seed(0)
    mean = parameters_to_vector(build_model("vgg_small").parameters()).detach()
    basis = torch.randn(3, mean.numel()) * 1e-3
    coefs = np.random.default_rng(0).normal(size=(points, 3))
    g = torch.Generator().manual_seed(1)
    sets = [
        (
            torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8).to(device),
            torch.randint(0, 10, (n,), generator=g).to(device),
        )
        for n in (n_train, n_test)
    ]
    return mean, basis, coefs, sets


def timed(fn):
    """(wall seconds, process CPU seconds, result). On a shared CPU the CPU time is the
    steadier measure: time spent waiting for a core does not count."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def forward_flop(model, device):
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, 32, 32, device=device, dtype=next(model.parameters()).dtype))
    return counter.get_total_flops()


def roofline(rates, evaluator_model, device, threads, n=2048):
    """FLOP/s of each rate beside the device's best fp32 matrix product. The evaluator's network
    (nn.fast_eval) does fewer FLOPs per image than the plain one: convolutions on 2x2 maps
    skip the zero-padding taps."""
    flop = {
        "naive": forward_flop(build_model("vgg_small").to(device).eval(), device),
        "chunk": forward_flop(evaluator_model, device),
    }
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    gemm = n**3 * 2 / min(timed(lambda: a @ b)[0] for _ in range(4))
    done = {k: r * flop["naive" if k == "naive" else "chunk"] for k, r in rates.items()}
    needed = 3 * rates["naive"] * flop["chunk"]
    return {
        "forward_flop_per_image": flop,
        "threads": threads,
        "fp32_gemm_gflops": gemm / 1e9,
        "gflops": {k: v / 1e9 for k, v in done.items()},
        "fraction_of_gemm": {k: v / gemm for k, v in done.items()},
        "chunk_gflops_needed_for_3x": needed / 1e9,
        "needed_fraction_of_gemm": needed / gemm,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench/out/landscape.json")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--points", type=int, default=4)
    ap.add_argument("--train", type=int, default=1000)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--points-per-pass", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    mean, basis, coefs, sets = problem(args.points, args.train, args.test, args.device)
    work = args.points * (args.train + args.test)
    cpu_sets = [(x.cpu(), y.cpu()) for x, y in sets]
    naive_model = build_model("vgg_small").to(args.device)
    runs = {"naive": lambda: reference.evaluate_grid(naive_model, mean, basis, coefs, cpu_sets, "mse")}
    for g in args.points_per_pass:
        spec = EvalSpec("mse", points_per_pass=g, batch_size=args.batch)
        evaluator = GridEvaluator(build_model("vgg_small"), mean, basis, spec, args.device)
        runs[f"chunk_g{g}"] = lambda ev=evaluator: ev.evaluate(coefs, *sets)
    wall, cpu, results = {k: np.inf for k in runs}, {k: np.inf for k in runs}, {}
    for _ in range(args.repeats):  # interleaved, so load changes hit every variant alike
        for name, fn in runs.items():
            w, c, results[name] = timed(fn)
            wall[name], cpu[name] = min(wall[name], w), min(cpu[name], c)
    rates = {k: work / s for k, s in wall.items()}
    cpu_rates = {k: work / s for k, s in cpu.items()}
    diff = max(float(np.abs(results[k]["train_loss"] - results["naive"]["train_loss"]).max()) for k in runs)
    report = {
        "model": "vgg_small",
        "precision": "float32",
        "device": args.device,
        "threads": args.threads,
        "points": args.points,
        "train_images": args.train,
        "test_images": args.test,
        "batch": args.batch,
        "point_images_per_s": rates,
        "speedup_vs_naive": {k: r / rates["naive"] for k, r in rates.items() if k != "naive"},
        "point_images_per_cpu_s": cpu_rates,
        "speedup_vs_naive_cpu_time": {k: r / cpu_rates["naive"] for k, r in cpu_rates.items() if k != "naive"},
        "max_abs_train_loss_difference": diff,
        "roofline": roofline(rates, evaluator.model, args.device, args.threads),
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "torch": torch.__version__,
            "load_avg": os.getloadavg(),
        },
        # The authors' grid: 1,302 points x (50,000 train + 5,000 test) images; target <= 120 s on a GPU.
        "projected_paper_grid_s": {k: PAPER_GRID_POINT_IMAGES / r for k, r in rates.items()},
        "target": ">= 3x naive on CPU; paper grid <= 120 s on a GPU",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
