"""Training throughput: the engine against a loop written the way the authors' code trains.

Reference: torchvision transforms on PIL images (RandomCrop(32, padding=4), RandomHorizontalFlip,
ToTensor, Normalize) + DataLoader(shuffle, drop_last) + nn.Dropout + loss.item() every step.
Engine: latedecay.nn.trainer.Trainer.train_epoch (uint8 data on the device, batched crop/flip,
keyed dropout masks, no host sync).
Same model (vgg_small by default), data, batch size and optimizer, in one process, in
blocks ordered engine, reference, reference, engine. Writes JSON (--out) and prints it.
With --precision other than fp32, the engine in fp32 runs too, in blocks interleaved with
the others (engine, fp32 engine, reference, reference, fp32 engine, engine), and
"vs_fp32" gives the engine's speed against it: a ratio from one process, which a shared
machine's load hurts less than absolute figures.

    .venv/bin/python bench/train.py --epochs 8 --threads 2   # ~40 s on 2 cores
    .venv/bin/python bench/train.py --precision bf16 --threads 1 --epochs 4 --out bench/out/train-bf16.json
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))

from latedecay.io import save_json  # noqa: E402
from latedecay.nn import cpu_isa, engine  # noqa: E402
from latedecay.nn.device import setup  # noqa: E402
from latedecay.nn.numerics import set_matmul_precision  # noqa: E402
from latedecay.nn.data import MEAN, STD, Split  # noqa: E402
from latedecay.nn.losses import per_sample_loss  # noqa: E402
from latedecay.nn.models import MaskedDropout, build_model  # noqa: E402
from latedecay.nn.schedule import Schedule  # noqa: E402
from latedecay.nn.settings import TrainSettings  # noqa: E402
from latedecay.nn.trainer import Run, Trainer  # noqa: E402
from latedecay.nn.prepare import subset_indices  # noqa: E402
from latedecay.nn.cifar import read_split  # noqa: E402


def load_images(root, per_class):
    """The authors' per-class subset of real CIFAR-10 if ``root`` holds it, else random images."""
    if (Path(root) / "cifar-10-batches-py" / "data_batch_1").is_file():
        images, labels = read_split(root, train=True)
        idx = subset_indices(labels, per_class, 23479)
        return images[idx], labels[idx], f"CIFAR-10 from {root}"
    rng = np.random.default_rng(0)
    n = 10 * per_class
    return rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8), np.arange(n) % 10, "synthetic"


class PILDataset(Dataset):
    """What torchvision.datasets.CIFAR10 does per item: uint8 HWC -> PIL -> transforms."""

    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images.transpose(0, 2, 3, 1), labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


def reference_epoch(model, optimizer, loader, device, loss_name):
    model.train()
    running = 0.0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        loss = per_sample_loss(loss_name, model(x), y).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        running += loss.item()  # the per-step host sync of a typical loop
    return running / len(loader)


def authors_dropout(model):
    """The reference keeps torch's own dropout (masks drawn from the global RNG)."""
    for name, module in list(model.named_modules()):
        if isinstance(module, MaskedDropout):
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent), child, torch.nn.Dropout(module.p))
    return model


def cpu_model():
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def timed(fn, device):
    """(wall seconds, process CPU seconds) of fn(); CPU time is less hurt by other load."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - wall, time.process_time() - cpu


def new_engine(arch, device, settings):
    """A one-model trainer from the seeded init (the same weights for every precision)."""
    torch.manual_seed(7)
    return Trainer.create([engine.place(build_model(arch), device)], [Run(7, "main")], settings, Schedule(0.1))


def ratios(slow, fast):
    """How many times faster ``fast`` trains than ``slow``: median epochs, best epochs (on a
    shared machine the least disturbed), median CPU time (less hurt by other load)."""
    return {
        "median": slow["median_epoch_s"] / fast["median_epoch_s"],
        "best": slow["best_epoch_s"] / fast["best_epoch_s"],
        "cpu_time": slow["median_epoch_cpu_s"] / fast["median_epoch_cpu_s"],
    }


TARGET_MS, TARGET_SPEEDUP = 15.0, 10.0  # on one H200: per vgg_small epoch of 5,000 images; vs the reference


def targets(result, device, n_used):
    """The GPU targets and whether this run meets them (None where they do not apply)."""
    applies = device.type == "cuda" and n_used == 5000
    ms = 1000 * result["engine"]["median_epoch_s"]
    return {
        "ms_per_epoch": TARGET_MS,
        "speedup": TARGET_SPEEDUP,
        "engine_ms_per_epoch": ms,
        "meets_ms": ms <= TARGET_MS if applies else None,
        "meets_speedup": result["speedup"] >= TARGET_SPEEDUP if applies else None,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(REPO / "bench" / "out" / "train.json"))
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--arch", default="vgg_small")
    parser.add_argument("--epochs", type=int, default=8, help="timed epochs per method (two blocks after warm-ups)")
    parser.add_argument("--batch-size", type=int, default=125)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compile", default="off", help="train.compile of the engine (auto, off, default, ...)")
    parser.add_argument("--precision", default="fp32", help="train.precision of the engine (fp32, tf32, bf16)")
    args = parser.parse_args()
    # the workflow's set-up: threads, determinism, cuDNN (no benchmark); TF32 per run below
    device = setup(args.device, args.threads, compile_cache="bench/out/compile-cache")
    images, labels, source = load_images(args.data, args.per_class)
    n_used = (len(labels) // args.batch_size) * args.batch_size
    settings = TrainSettings(
        arch=args.arch,
        loss="mse",
        eval_augment=False,
        batch_size=args.batch_size,
        momentum=0.9,
        weight_decay=1e-4,
        eval_every=1,
        snapshot_every=1,
        resume_every=1,
        device=args.device,
        threads=args.threads,
        compile=args.compile,
        precision=args.precision,
        compile_cache="bench/out/compile-cache",
        deterministic=True,
    )
    trainer, fp32 = (new_engine(args.arch, device, replace(settings, precision=p)) for p in (args.precision, "fp32"))
    torch.manual_seed(7)
    reference = authors_dropout(build_model(args.arch)).to(device)
    reference_opt = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    train = Split(torch.from_numpy(images).to(device), torch.from_numpy(labels.astype(np.int64)).to(device))
    transform = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(MEAN, STD),
        ]
    )
    loader = DataLoader(
        PILDataset(images, labels, transform),
        batch_size=args.batch_size,
        shuffle=True,
        drop_last=True,
        pin_memory=device.type == "cuda",
    )
    runs = {
        "engine": lambda e: trainer.train_epoch(train, e).item(),
        "engine_fp32": lambda e: fp32.train_epoch(train, e).item(),
        "reference": lambda e: reference_epoch(reference, reference_opt, loader, device, "mse"),
    }
    # Blocks in ABBA order so slow drifts of a shared machine hit all alike; a block's first
    # epoch warms up and is not counted. (Alternating every epoch made the engine's epochs 10x
    # slower at random on this CPU: switching models and memory layouts each epoch thrashes.)
    order = ["engine", "reference"] if args.precision == "fp32" else ["engine", "engine_fp32", "reference"]
    times = {name: [] for name in order}
    half = max(1, args.epochs // 2)
    for name in order + order[::-1]:
        for epoch in range(half + 1):
            set_matmul_precision(args.precision if name == "engine" else "fp32")  # fp32: cuDNN's TF32 off too
            seconds = timed(lambda: runs[name](epoch + 1), device)
            if epoch:
                times[name].append(seconds)
    load = os.getloadavg()[0]
    result = {
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "threads": args.threads,
            "device": str(device),
            "torch": torch.__version__,
        },
        "data": source,
        "images_per_epoch": n_used,
        "batch_size": args.batch_size,
        "arch": args.arch,
    }
    result["machine"]["load_average_1min"] = load
    result["machine"]["kernels"] = cpu_isa.report(args.precision)[0] if device.type == "cpu" else None
    result["precision"] = args.precision
    for name, values in times.items():
        wall, cpu = (statistics.median(v[i] for v in values) for i in (0, 1))
        result[name] = {
            "epoch_wall_s": [v[0] for v in values],
            "epoch_cpu_s": [v[1] for v in values],
            "median_epoch_s": wall,
            "median_epoch_cpu_s": cpu,
            "best_epoch_s": min(v[0] for v in values),
            "images_per_s": n_used / wall,
        }
    speedup = ratios(result["reference"], result["engine"])
    result["speedup"], result["speedup_best"], result["speedup_cpu_time"] = (speedup[k] for k in speedup)
    if "engine_fp32" in result:
        result["vs_fp32"] = ratios(result["engine_fp32"], result["engine"])
    result["targets"] = targets(result, device, n_used)
    save_json(result, args.out)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
