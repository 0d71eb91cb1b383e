"""The PCA, grid-chunk and paths jobs; entry scripts call these with values from snakemake.params
(the chunk and paths jobs with ``LandscapeSettings`` and the device from ``start``).

Timings go to the job log only, so that identical runs write identical result files."""

import logging
import time

import numpy as np
import torch

from ..io import load_npz, load_torch, save_npz, save_torch
from ..nn.data import load_sets
from ..nn.device import setup
from ..nn.models import build_model
from .evaluate import GridEvaluator
from .grid import chunk_points
from .paths import off_surface
from .pca import fit_pca, fit_quadratic
from .settings import LandscapeSettings
from .snapshots import load_trajectories, select_snapshots
from .surface import coefficients, grid_axes, surface_coefficients

log = logging.getLogger("latedecay.landscape")


def run_pca(inputs, outputs, components, stride, main_start):
    """PCA of the snapshots (inputs main, sub) -> outputs pca (pca.pt: mean, components) and
    projection (projection.npz: coordinates, labels, explained variance, the PC3-on-PC1
    quadratic of the curved surface)."""
    traj = load_trajectories(inputs["main"], inputs["sub"], stride, main_start)
    log.info("%d snapshots of %d parameters from %d runs", *traj.params.shape, len(set(traj.runs)))
    clock = time.perf_counter()
    pca = fit_pca(traj.params, components)
    fit = fit_quadratic(pca.coords[:, 0], pca.coords[:, 2]) if components >= 3 else np.full(3, np.nan)
    log.info(
        "PCA in %.1f s; explained variance ratios %s; PC3 ~ %s",
        time.perf_counter() - clock,
        np.round(pca.ratio, 4).tolist(),
        fit.tolist(),
    )
    save_torch({"mean": pca.mean.float(), "components": pca.components.float()}, outputs["pca"])
    save_npz(
        outputs["projection"],
        coords=pca.coords,
        paths=np.array(traj.runs),  # the npz key names the runs "paths" (as Fig. 2 draws them)
        epochs=traj.epochs,
        variance=pca.variance,
        ratio=pca.ratio,
        pc3_fit=fit,
    )


def image_subset(n, limit, seed):
    """Sorted random subset of ``limit`` of ``n`` images (all when limit is None or >= n)."""
    if limit is None or limit >= n:
        return torch.arange(n)
    gen = torch.Generator().manual_seed(seed)
    return torch.randperm(n, generator=gen)[:limit].sort().values


def start(params, threads):
    """The job's settings from ``params.landscape`` and its device (``threads``: the rule's,
    where train.threads is null)."""
    settings = LandscapeSettings.from_params(params)
    return settings, setup(settings.device, settings.threads or threads)


def image_sets(inputs, images, device):
    """[(train images, labels), (test images, labels)] on the device: the seeded subsets
    (``ImageSubsets``) of results/data/train.pt and eval.pt that every landscape evaluation uses."""
    sets = []
    for split, limit in zip(load_sets(inputs["train"], inputs["eval"], device), (images.train, images.test)):
        keep = image_subset(len(split.labels), limit, images.seed).to(device)
        sets.append((split.images[keep], split.labels[keep]))
    return sets


def _grid_and_coefs(projection, surface, grid):
    x1, x2 = grid_axes(grid, projection["coords"])
    return x1, x2, coefficients(x1, x2, surface, projection["pc3_fit"])


def _evaluator(settings, pca, device):
    return GridEvaluator(build_model(settings.arch), pca["mean"], pca["components"], settings.evaluation, device)


def run_chunk(inputs, out, settings, device, grid, chunks, chunk):
    """Evaluate chunk ``chunk`` (0-based) of ``chunks`` of the grid (params.grid)."""
    projection = load_npz(inputs["projection"])
    x1, x2, coefs = _grid_and_coefs(projection, settings.surface, grid)
    index = chunk_points(len(coefs), chunks, chunk)
    pca = load_torch(inputs["pca"])
    sets = image_sets(inputs, settings.images, device)
    evaluator = _evaluator(settings, pca, device)
    clock = time.perf_counter()
    result = evaluator.evaluate(coefs[index], *sets)
    seconds = time.perf_counter() - clock
    n_img = sum(len(s[1]) for s in sets)
    log.info(
        "chunk %d of 0..%d: %d points x %d images in %.1f s (%.0f point-images/s), %d points per pass, "
        "BatchNorm stats: %s",
        chunk,
        chunks - 1,
        len(index),
        n_img,
        seconds,
        len(index) * n_img / seconds,
        evaluator.spec.points_per_pass,
        evaluator.bn_mode,
    )
    save_npz(
        out,
        index=index,
        x1=x1,
        x2=x2,
        bn_stats=evaluator.bn_mode,
        surface=settings.surface,
        n_train=len(sets[0][1]),
        n_test=len(sets[1][1]),
        **result,
    )


def run_paths(inputs, out, settings, device):
    """Every snapshot of the PCA against the surface: its distance from the surface point at
    its own (PC1, PC2), and train/test loss and accuracy both at the snapshot itself and at
    that surface point, on the same images and with the same evaluator as the grid chunks."""
    surface = settings.surface
    projection = load_npz(inputs["projection"])
    labels, epochs, coords = projection["paths"].astype(str), projection["epochs"], projection["coords"]
    params = select_snapshots(inputs["main"], inputs["sub"], labels, epochs)
    pca = load_torch(inputs["pca"])
    coefs = surface_coefficients(coords[:, 0], coords[:, 1], surface, projection["pc3_fit"])
    distance, residual, recoords = off_surface(params, pca["mean"], pca["components"], coefs)
    drift = float(np.abs(recoords - coords).max() / max(np.abs(coords).max(), 1e-12))
    log.info(
        "%d snapshots; distance from the %s surface: median %.4g, max %.4g (outside the %d PCs: median %.4g); "
        "re-projection matches projection.npz to %.1e (relative)",
        len(params),
        surface,
        np.median(distance),
        distance.max(),
        len(recoords[0]),
        np.median(residual),
        drift,
    )
    if drift > 1e-3:
        raise RuntimeError(f"snapshots re-projected onto pca.pt differ from projection.npz by {drift:.2g} (relative)")
    sets = image_sets(inputs, settings.images, device)
    evaluator = _evaluator(settings, pca, device)
    clock = time.perf_counter()
    at_snapshot = evaluator.evaluate_weights(params, *sets)
    at_surface = evaluator.evaluate(coefs, *sets)
    seconds = time.perf_counter() - clock
    log.info(
        "%d snapshots and their surface points x %d images in %.1f s",
        len(params),
        sum(len(s[1]) for s in sets),
        seconds,
    )
    save_npz(
        out,
        paths=labels,
        epochs=epochs,
        coords=coords,
        surface_coefs=coefs,
        distance=distance,
        residual=residual,
        surface=surface,
        bn_stats=evaluator.bn_mode,
        n_train=len(sets[0][1]),
        n_test=len(sets[1][1]),
        **{f"snapshot_{k}": v for k, v in at_snapshot.items()},
        **{f"surface_{k}": v for k, v in at_surface.items()},
    )
