"""The first minutes on a GPU: one script, one JSON per section in the output folder.

Sections (each carries on when another fails; its JSON then holds the error):
  toolchain    driver vs torch's CUDA build, Triton's C compiler, one tiny compile (nn.preflight)
  host_syncs   tensors made from host data, and (CUDA) synchronizations, in one training epoch
  single       the compiled single model: CUDA graphs really replayed, ms/epoch (target <= 15 ms
               per vgg_small epoch on 5,000 images), agreement with eager
  pack         the compiled pack of 11 subpaths: ms/epoch, per model
  precision    fp32, tf32 and bf16 side by side (ms/epoch, loss against fp32), and what
               train.deterministic costs
  repeat       bitwise repeatability: two processes train the same run, same bytes?
  resume       a resume round-trip: 2 epochs straight equal 1 + save + load + 1, bitwise
summary.json lists every section's ok and error. Data: synthetic uint8 images (the speed of
an epoch does not depend on their content).

    python bench/gpu_check.py bench/out/gpu_check --quick   # ~3 min on a GPU (cold compile)
    python bench/gpu_check.py OUT --quick --device cpu      # the plumbing on CPU (~30 s)
"""

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))

from latedecay.io import save_json  # noqa: E402
from latedecay.nn import data, engine, numerics, preflight  # noqa: E402
from latedecay.nn.device import setup  # noqa: E402
from latedecay.nn.models import build_model  # noqa: E402
from latedecay.nn.schedule import Schedule  # noqa: E402
from latedecay.nn.settings import TrainSettings  # noqa: E402
from latedecay.nn.trainer import Run, Trainer  # noqa: E402

TARGET_MS = 15.0  # per vgg_small epoch of 5,000 images, compiled, on one H200
BASE = {
    "arch": "vgg_small",
    "loss": "mse",
    "eval_augment": False,
    "batch_size": 125,
    "momentum": 0.9,
    "weight_decay": 1e-4,
    "eval_every": 10,
    "snapshot_every": 10,
    "resume_every": 10,
    "device": "cpu",
    "threads": None,
    "compile": "auto",
    "precision": "fp32",
    "compile_cache": "results/.compile-cache",
    "deterministic": True,
}


class Check:
    """What every section shares: device, settings, data, sizes."""

    def __init__(self, args):
        self.args, self.device = args, setup(args.device, args.threads, compile_cache=args.compile_cache)
        self.cuda = self.device.type == "cuda"
        self.mode = numerics.compile_mode(args.compile, self.device)
        gen = torch.Generator().manual_seed(0)
        images = torch.randint(0, 256, (args.images, 3, 32, 32), dtype=torch.uint8, generator=gen)
        self.train = data.Split(images.to(self.device), (torch.arange(args.images) % 10).to(self.device))

    def settings(self, **changes):
        return TrainSettings.from_params(
            {
                **BASE,
                "device": self.device.type,
                "compile": self.mode,
                "compile_cache": self.args.compile_cache,
                **changes,
            }
        )

    def trainer(self, size=1, **changes):
        """A trainer of ``size`` runs from the same seeded initial models."""
        torch.manual_seed(0)
        models = [engine.place(build_model("vgg_small"), self.device) for _ in range(size)]
        runs = [Run(7, "main")] if size == 1 else [Run(7, f"decay{100 * k}") for k in range(size)]
        numerics.set_matmul_precision(changes.get("precision", "fp32"))
        return Trainer.create(models, runs, self.settings(**changes), Schedule(0.1))

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()

    def epochs_ms(self, trainer, epochs, first=1):
        """Wall ms of each of ``epochs`` epochs (losses read only at the end, as the engine does)."""
        times, losses = [], []
        for epoch in range(first, first + epochs):
            self.sync()
            start = time.perf_counter()
            losses.append(trainer.train_epoch(self.train, epoch))
            self.sync()
            times.append(1000 * (time.perf_counter() - start))
        return times, torch.stack(losses).double().cpu()


def section_toolchain(c):
    facts = preflight.facts(c.mode)
    return {"facts": facts, "problems": preflight.problems(facts) if c.cuda else [], "compile_mode": c.mode}


def section_host_syncs(c):
    """Blocking copies per epoch: every tensor made from host data inside the step loop is
    one; on CUDA the sync debug mode also counts every other synchronization."""
    trainer = c.trainer()
    trainer.train_epoch(c.train, 1)  # set-up (compile, constants) happens once, not per step
    made, originals = [], {n: getattr(torch, n) for n in ("tensor", "as_tensor", "from_numpy", "asarray")}
    for name, fn in originals.items():
        setattr(torch, name, lambda *a, _fn=fn, _n=name, **k: (made.append(_n), _fn(*a, **k))[1])
    try:
        syncs = _count_syncs(c, lambda: trainer.train_epoch(c.train, 2))
    finally:
        for name, fn in originals.items():
            setattr(torch, name, fn)
    steps = len(c.train.labels) // BASE["batch_size"]
    return {"steps": steps, "host_tensors": len(made), "cuda_syncs": syncs, "ok_no_host_data": not made}


def _count_syncs(c, fn):
    if not c.cuda:
        fn()
        return None
    import warnings

    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


def _graph_launches(c, fn):
    """cudaGraphLaunch calls while ``fn`` runs: reduce-overhead really replaying graphs."""
    if not c.cuda:
        fn()
        return None
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        fn()
    return sum(e.count for e in prof.key_averages() if "cudaGraphLaunch" in e.key)


def section_single(c):
    eager, compiled = c.trainer(compile="off"), c.trainer()
    start = time.perf_counter()
    compiled.train_epoch(c.train, 1)
    c.sync()
    first_s = time.perf_counter() - start
    eager.train_epoch(c.train, 1)
    launches = _graph_launches(c, lambda: compiled.train_epoch(c.train, 2))
    eager.train_epoch(c.train, 2)
    gap = (compiled.flat_params(0) - eager.flat_params(0)).abs().max() / eager.flat_params(0).abs().max()
    times, _ = c.epochs_ms(compiled, c.args.epochs, first=3)
    ms = statistics.median(times)
    skips = _inductor_counter("cudagraph_skips")
    return {
        "compile_mode": c.mode,
        "first_epoch_s": first_s,
        "ms_per_epoch": ms,
        "ms_all": times,
        "images": len(c.train.labels),
        "cuda_graph_launches": launches,
        "cudagraph_skips": skips,
        "graphs_used": None if not c.cuda or c.mode != "reduce-overhead" else bool(launches) and not skips,
        "relative_gap_vs_eager_after_2_epochs": float(gap),
        "target_ms": TARGET_MS,
        "meets_target": ms <= TARGET_MS if c.cuda and len(c.train.labels) == 5000 else None,
    }


def _inductor_counter(name):
    from torch._dynamo.utils import counters

    return sum(counters["inductor"].get(key, 0) for key in counters["inductor"] if name in key)


def section_pack(c):
    pack = c.trainer(size=c.args.pack)
    pack.train_epoch(c.train, 1)
    times, _ = c.epochs_ms(pack, c.args.epochs, first=2)
    ms = statistics.median(times)
    return {"size": c.args.pack, "ms_per_epoch": ms, "ms_per_model_epoch": ms / c.args.pack, "ms_all": times}


def section_precision(c):
    """ms/epoch per precision (and with train.deterministic off), loss after the epochs vs fp32."""
    rows = {}
    for name, changes in (
        ("fp32", {}),
        ("tf32", {"precision": "tf32"}),
        ("bf16", {"precision": "bf16"}),
        ("fp32_nondeterministic", {"deterministic": False}),
    ):
        _determinism(c, changes.get("deterministic", True))
        trainer = c.trainer(**changes)
        trainer.train_epoch(c.train, 1)
        times, losses = c.epochs_ms(trainer, c.args.epochs, first=2)
        rows[name] = {"ms_per_epoch": statistics.median(times), "last_loss": float(losses[-1, 0])}
    _determinism(c, True)
    numerics.set_matmul_precision("fp32")
    for row in rows.values():
        row["speed_vs_fp32"] = rows["fp32"]["ms_per_epoch"] / row["ms_per_epoch"]
        row["loss_gap_vs_fp32"] = row["last_loss"] - rows["fp32"]["last_loss"]
    return rows


def _determinism(c, on):
    if c.cuda:
        torch.backends.cudnn.benchmark = not on
        torch.backends.cudnn.deterministic = on
        torch.use_deterministic_algorithms(on)


def state_digest(trainer):
    """sha256 of the weights' and momentum's bytes."""
    tensors = [p.detach().cpu().contiguous() for p in trainer.parameters()]
    tensors += [b.detach().cpu().contiguous() for b in trainer.momentum() if b is not None]
    return hashlib.sha256(b"".join(t.numpy().tobytes() for t in tensors)).hexdigest()


def section_repeat(c):
    """Two fresh processes, the same run: the digests of their weights and momentum."""
    command = [
        sys.executable,
        __file__,
        "--worker",
        "--device",
        c.device.type,
        "--images",
        str(c.args.images),
        "--epochs",
        str(c.args.epochs),
        "--compile",
        c.mode,
        "--compile-cache",
        c.args.compile_cache,
    ]
    if c.args.threads:
        command += ["--threads", str(c.args.threads)]
    digests = [subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()[-1] for _ in range(2)]
    return {"digests": digests, "identical": digests[0] == digests[1]}


def section_resume(c, folder):
    straight = c.trainer()
    c.epochs_ms(straight, 2)
    first = c.trainer()
    first.train_epoch(c.train, 1)
    path = Path(folder) / "resume-check.pt"
    torch.save(first.state_dict(), path)
    resumed = c.trainer()
    resumed.load_state_dict(torch.load(path, map_location=c.device, weights_only=False))
    resumed.train_epoch(c.train, 2)
    path.unlink()
    return {"identical": state_digest(straight) == state_digest(resumed)}


SECTIONS = ("toolchain", "host_syncs", "single", "pack", "precision", "repeat", "resume")


def run_section(name, c, out):
    start = time.perf_counter()
    try:
        fn = globals()[f"section_{name}"]
        result = {"ok": True, **(fn(c, out) if name == "resume" else fn(c))}
    except Exception as err:  # noqa: BLE001 - a failed section is a finding; the others still run
        result = {"ok": False, "error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()}
    result["seconds"] = time.perf_counter() - start
    save_json(result, Path(out) / f"{name}.json")
    print(f"{name}: {'ok' if result['ok'] else result['error']} ({result['seconds']:.1f} s)", flush=True)
    return result


def worker(args):
    """One process of section_repeat: train, print the digest."""
    c = Check(args)
    trainer = c.trainer()
    c.epochs_ms(trainer, args.epochs)
    print(state_digest(trainer))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?", default="bench/out/gpu_check")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--quick", action="store_true", help="few epochs (and on CPU, 125 images): ~3 min on a GPU")
    parser.add_argument("--images", type=int, help="training images (default 5,000; --quick on CPU 125)")
    parser.add_argument("--epochs", type=int, help="timed epochs per measurement (default 20; --quick 5, 1 on CPU)")
    parser.add_argument("--pack", type=int, default=11)
    parser.add_argument("--compile", default="auto", help="train.compile (presets/gpu.yaml: auto)")
    parser.add_argument("--compile-cache", default=str(REPO / "results" / ".compile-cache"))
    parser.add_argument("--threads", type=int)
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    cpu = args.device == "cpu" or args.device == "auto" and not torch.cuda.is_available()
    args.images = args.images or (125 if args.quick and cpu else 5000)
    args.epochs = args.epochs or (20 if not args.quick else 1 if cpu else 5)
    if args.worker:
        return worker(args)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    c = Check(args)
    results = {name: run_section(name, c, args.out) for name in args.sections}
    summary = {name: {"ok": r["ok"], "error": r.get("error"), "seconds": r["seconds"]} for name, r in results.items()}
    save_json(
        {
            "device": str(c.device),
            "torch": torch.__version__,
            "images": args.images,
            "epochs": args.epochs,
            "quick": args.quick,
            "sections": summary,
        },
        Path(args.out) / "summary.json",
    )
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
