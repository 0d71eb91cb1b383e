"""The training subset and the evaluation ("testing loss") set, built once from the raw splits."""

import numpy as np
import torch

from .cifar import read_split

EVAL_SETS = ("train_all", "test", "train_rest")


def subset_indices(labels, per_class, seed, num_classes=10):
    """The authors' per-class draw: for each class in order, a fresh ``default_rng(seed)``
    picks ``per_class`` positions among that class's indices (dataset order), no replacement."""
    parts = []
    for c in range(num_classes):
        idx = np.flatnonzero(labels == c)
        if len(idx) < per_class:
            raise ValueError(f"class {c} has {len(idx)} images, fewer than data.subset.per_class = {per_class}")
        parts.append(idx[np.random.default_rng(seed).choice(len(idx), per_class, replace=False)])
    return np.concatenate(parts)


def eval_indices(eval_set, train_labels, test_labels, subset, limit=None):
    """(split, source indices) of the evaluation set, optionally cut to its first ``limit`` images."""
    if eval_set == "train_all":
        split, idx = "train", np.arange(len(train_labels))
    elif eval_set == "test":
        split, idx = "test", np.arange(len(test_labels))
    elif eval_set == "train_rest":
        split, idx = "train", np.setdiff1d(np.arange(len(train_labels)), subset)  # sorted: dataset order
    else:
        raise ValueError(f"unknown data.eval_set {eval_set!r}; choose one of {EVAL_SETS}")
    return split, idx[:limit] if limit else idx


def _as_record(images, labels, idx, split):
    return {
        "images": torch.from_numpy(np.ascontiguousarray(images[idx])),
        "labels": torch.from_numpy(labels[idx].astype(np.int64)),
        "indices": torch.from_numpy(idx.astype(np.int64)),
        "split": split,
    }


def prepare_sets(root, per_class, seed, eval_set, eval_limit=None):
    """Return (train record, eval record) dicts in the results/data/*.pt layout."""
    train_images, train_labels = read_split(root, train=True)
    subset = subset_indices(train_labels, per_class, seed)
    test_images, test_labels = read_split(root, train=False) if eval_set == "test" else (None, np.zeros(0))
    split, idx = eval_indices(eval_set, train_labels, test_labels, subset, eval_limit)
    source = (train_images, train_labels) if split == "train" else (test_images, test_labels)
    return _as_record(train_images, train_labels, subset, "train"), _as_record(*source, idx, split)
