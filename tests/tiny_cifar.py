"""Write tiny synthetic CIFAR-10 data in the python layout (cifar-10-batches-py/).

Used by the tests and by presets/tiny.yaml (``python tests/tiny_cifar.py data/tiny``).
Each class has its own mean colour plus noise, so a network can learn it within a few
epochs; labels cycle through the classes so every batch file is balanced.
"""

import argparse
import pickle
from pathlib import Path

import numpy as np

FILES = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]
LABEL_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _batch(rng, n, offset, name):
    labels = (np.arange(offset, offset + n) * 7 + offset // 10) % 10  # balanced, not in trivial order
    colour = np.linspace(40, 215, 10)[labels][:, None, None]
    shade = np.array([1.0, 0.6, 0.3])[None, :, None]
    pixels = colour * shade + rng.normal(0, 40, size=(n, 3, 1024))
    data = np.clip(pixels, 0, 255).astype(np.uint8).reshape(n, 3072)
    return {
        "batch_label": name,
        "labels": labels.tolist(),
        "data": data,
        "filenames": [f"tiny_{offset + i:05d}.png" for i in range(n)],
    }


def write_tiny_cifar(root, per_batch=100, test=100, seed=0):
    """Write five training batches of ``per_batch`` images and a test batch; return the folder."""
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i, name in enumerate(FILES):
        n = test if name == "test_batch" else per_batch
        with open(folder / name, "wb") as fh:
            pickle.dump(_batch(rng, n, i * per_batch, name), fh, protocol=2)
    with open(folder / "batches.meta", "wb") as fh:
        meta = {"label_names": LABEL_NAMES, "num_cases_per_batch": per_batch, "num_vis": 3072}
        pickle.dump(meta, fh, protocol=2)
    return folder


def write_tiny_prepared(folder, per_class=10, eval_set="train_all", eval_limit=100):
    """Tiny data plus results/data-style train.pt and eval.pt in ``folder``; returns their paths."""
    from latedecay.io import save_torch
    from latedecay.nn.prepare import prepare_sets

    folder = Path(folder)
    write_tiny_cifar(folder / "cifar")
    train, evaluation = prepare_sets(folder / "cifar", per_class, 23479, eval_set, eval_limit)
    paths = {"train": folder / "train.pt", "eval": folder / "eval.pt"}
    save_torch(train, paths["train"])
    save_torch(evaluation, paths["eval"])
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", help="folder that receives cifar-10-batches-py/")
    parser.add_argument("--per-batch", type=int, default=100)
    parser.add_argument("--test", type=int, default=100)
    args = parser.parse_args()
    print(write_tiny_cifar(args.root, args.per_batch, args.test))
