"""The PCA and grid-chunk jobs; entry scripts call these with values from snakemake.params."""

import logging
import time

import numpy as np
import torch

from ..io import load_npz, load_torch, save_npz, save_torch
from ..nn.data import load_sets
from ..nn.device import setup
from ..nn.models import build_model
from .evaluate import EvalSpec, GridEvaluator
from .grid import chunk_points
from .pca import fit_pca, fit_quadratic
from .snapshots import load_trajectories
from .surface import coefficients, grid_axes

log = logging.getLogger("latedecay.landscape")


def run_pca(main_files, sub_files, out_pca, out_projection, components, stride, main_start):
    """PCA of the snapshots -> pca.pt (mean, components) and projection.npz (coordinates,
    labels, explained variance, the PC3-on-PC1 quadratic of the curved surface)."""
    traj = load_trajectories(main_files, sub_files, stride, main_start)
    log.info("%d snapshots of %d parameters from %d paths", *traj.params.shape, len(set(traj.paths)))
    clock = time.perf_counter()
    pca = fit_pca(traj.params, components)
    fit = fit_quadratic(pca.coords[:, 0], pca.coords[:, 2]) if components >= 3 else np.full(3, np.nan)
    log.info("PCA in %.1f s; explained variance ratios %s; PC3 ~ %s", time.perf_counter() - clock,
             np.round(pca.ratio, 4).tolist(), fit.tolist())  # fmt: skip
    save_torch({"mean": pca.mean.float(), "components": pca.components.float()}, out_pca)
    save_npz(out_projection, coords=pca.coords, paths=np.array(traj.paths), epochs=traj.epochs,
             variance=pca.variance, ratio=pca.ratio, pc3_fit=fit)  # fmt: skip


def image_subset(n, limit, seed):
    """Sorted random subset of ``limit`` of ``n`` images (all when limit is None or >= n)."""
    if limit is None or limit >= n:
        return torch.arange(n)
    gen = torch.Generator().manual_seed(seed)
    return torch.randperm(n, generator=gen)[:limit].sort().values


def _grid_and_coefs(projection, surface, grid):
    x1, x2 = grid_axes(grid, projection["coords"])
    return x1, x2, coefficients(x1, x2, surface, projection["pc3_fit"])


def run_chunk(inputs, out, arch, loss, surface, grid, chunks, chunk, evaluation, images, device, threads):
    """Evaluate one chunk of the grid. ``evaluation``: bn_stats, points_per_pass, batch_size,
    precision, channels_last; ``images``: train/test limits and seed of the subsets."""
    device = setup(device, threads)
    projection = load_npz(inputs["projection"])
    x1, x2, coefs = _grid_and_coefs(projection, surface, grid)
    index = chunk_points(len(coefs), chunks, chunk)
    pca = load_torch(inputs["pca"])
    sets = []
    for split, limit in zip(load_sets(inputs["train"], inputs["eval"], device), (images["train"], images["test"])):
        keep = image_subset(len(split.labels), limit, images["seed"]).to(device)
        sets.append((split.images[keep], split.labels[keep]))
    model = build_model(arch)
    evaluator = GridEvaluator(model, pca["mean"], pca["components"], EvalSpec(loss=loss, **evaluation), device)
    clock = time.perf_counter()
    result = evaluator.evaluate(coefs[index], *sets)
    seconds = time.perf_counter() - clock
    n_img = sum(len(s[1]) for s in sets)
    log.info("chunk %d of 0..%d: %d points x %d images in %.1f s (%.0f point-images/s), %d points per pass, "
             "BatchNorm stats: %s", chunk, chunks - 1, len(index), n_img, seconds, len(index) * n_img / seconds,
             evaluator.spec.points_per_pass, evaluator.bn_mode)  # fmt: skip
    save_npz(out, index=index, x1=x1, x2=x2, seconds=seconds, bn_stats=evaluator.bn_mode, surface=surface,
             n_train=len(sets[0][1]), n_test=len(sets[1][1]), **result)  # fmt: skip
