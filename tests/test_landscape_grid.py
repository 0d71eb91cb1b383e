"""Grid axes, surfaces, chunking and merging; distances from the surface."""

import numpy as np
import pytest
import torch

from latedecay.landscape.evaluate import GridEvaluator
from latedecay.landscape.settings import EvalSpec
from latedecay.landscape.grid import chunk_points, merge_chunks
from latedecay.landscape.paths import off_surface
from latedecay.landscape.pca import fit_pca, fit_quadratic
from latedecay.landscape.surface import coefficients, grid_axes, quadratic_fit_r2, surface_coefficients
from latedecay.names import EVAL_METRICS
from latedecay.nn.models import build_model

PAPER_GRID = {
    "extent": "fixed",
    "pc1": {"min": -20, "max": 21, "points": 42},
    "pc2": {"min": -15, "max": 15, "points": 31},
    "margin": 0.1,
    "square": True,
}


def test_paper_grid_is_unit_spaced():
    x1, x2 = grid_axes(PAPER_GRID, np.zeros((3, 5)))
    np.testing.assert_array_equal(x1, np.arange(-20, 22))
    np.testing.assert_array_equal(x2, np.arange(-15, 16))


@pytest.mark.parametrize("square", [False, True])
def test_auto_grid_covers_trajectories_with_margin(square):
    coords = np.array([[0.0, 1.0], [10.0, 2.0], [4.0, 3.0]])
    x1, x2 = grid_axes({**PAPER_GRID, "extent": "auto", "square": square}, coords)
    assert (x1[0], x1[-1]) == pytest.approx((-1, 11)) and len(x1) == 42
    assert (x2[0], x2[-1]) == pytest.approx((-4, 8) if square else (0.8, 3.2))


@pytest.mark.parametrize("points,chunks", [(1302, 14), (1302, 1302), (7, 3), (20, 1), (121, 4)])
def test_chunks_cover_every_point_exactly_once(points, chunks):
    parts = [chunk_points(points, chunks, c) for c in range(chunks)]
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(points))
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1 and min(sizes) >= 1


def test_chunk_outside_range_is_refused():
    with pytest.raises(ValueError):
        chunk_points(10, 11, 0)
    with pytest.raises(ValueError):
        chunk_points(10, 2, 2)


def parts_for(shape, chunks):
    n = int(np.prod(shape))
    value = np.arange(n, dtype=float)
    return [
        {"index": idx, **{m: value[idx] + k for k, m in enumerate(EVAL_METRICS)}}
        for idx in (chunk_points(n, chunks, c) for c in range(chunks))
    ]


def test_merge_puts_every_point_in_place():
    merged = merge_chunks(parts_for((5, 4), 3), (5, 4))
    for k, m in enumerate(EVAL_METRICS):
        np.testing.assert_array_equal(merged[m], np.arange(20.0).reshape(5, 4) + k)


def test_merge_names_overlapping_or_missing_chunks():
    parts = parts_for((5, 4), 3)
    names = ["c0.npz", "c1.npz", "c2.npz"]
    clash = [parts[0], parts[1], {**parts[2], "index": parts[2]["index"] - 1}]
    with pytest.raises(RuntimeError, match="c2.npz.*c1.npz"):
        merge_chunks(clash, (5, 4), names)
    with pytest.raises(RuntimeError, match="missing"):
        merge_chunks(parts[:2], (5, 4), names[:2])


def test_flat_and_curved_coefficients_follow_the_formula():
    x1, x2, fit = np.array([-1.0, 0.5, 2.0]), np.array([3.0, -4.0]), (0.5, -2.0, 0.25)
    flat = coefficients(x1, x2, "flat", fit)
    curved = coefficients(x1, x2, "curved", fit)
    assert flat.shape == (6, 2) and curved.shape == (6, 3)
    np.testing.assert_array_equal(flat[3], [0.5, -4.0])  # row-major: x1 outer, x2 inner
    np.testing.assert_array_equal(curved[:, :2], flat)
    np.testing.assert_allclose(curved[:, 2], 0.5 * flat[:, 0] ** 2 - 2.0 * flat[:, 0] + 0.25)


def evaluator(mean, basis):
    spec = EvalSpec("mse", points_per_pass=2, precision="float64", channels_last=False)
    return GridEvaluator(build_model("vgg_small"), mean, basis, spec, "cpu")


def flat_weights(ev, coefs):
    return ev.point_weights(coefs).numpy()


def test_snapshot_on_flat_plane_is_rebuilt_at_its_projection():
    torch.manual_seed(0)
    d = sum(p.numel() for p in build_model("vgg_small").parameters())
    base, v = torch.randn(d, dtype=torch.float64), torch.randn(2, d, dtype=torch.float64)
    snaps = base + torch.randn(7, 2, dtype=torch.float64) @ v  # rank 2 around their mean
    pca = fit_pca(snaps, 2)
    ev = evaluator(pca.mean, pca.components)
    rebuilt = flat_weights(ev, coefficients(pca.coords[3:4, 0], pca.coords[3:4, 1], "flat", None))
    np.testing.assert_allclose(rebuilt[0], snaps[3].numpy(), atol=1e-10)


def test_curved_surface_weights_follow_the_formula():
    torch.manual_seed(1)
    d = sum(p.numel() for p in build_model("vgg_small").parameters())
    mean, comps = torch.randn(d, dtype=torch.float64), torch.randn(3, d, dtype=torch.float64)
    fit = (0.3, -0.7, 1.1)
    coefs = coefficients([-2.0, 1.5], [0.25], "curved", fit)
    got = flat_weights(evaluator(mean, comps), coefs)
    m, pc = mean.numpy(), comps.numpy()
    for row, (x1, x2) in zip(got, [(-2.0, 0.25), (1.5, 0.25)]):
        want = m + x1 * pc[0] + x2 * pc[1] + (0.3 * x1**2 - 0.7 * x1 + 1.1) * pc[2]
        np.testing.assert_allclose(row, want, rtol=0, atol=1e-12)


def test_surface_points_match_the_grid_formula():
    fit = (0.5, -2.0, 0.25)
    pts = surface_coefficients([0.5, 2.0], [-4.0, 3.0], "curved", fit)
    grid = coefficients([-1.0, 0.5, 2.0], [3.0, -4.0], "curved", fit)
    np.testing.assert_array_equal(pts, grid[[3, 4]])  # (0.5, -4) and (2, 3)
    np.testing.assert_array_equal(surface_coefficients([1.0], [2.0], "flat", None), [[1.0, 2.0]])


def test_quadratic_fit_r2():
    c1 = np.linspace(-3, 4, 30)
    exact = 0.3 * c1**2 - c1 + 2
    assert quadratic_fit_r2(c1, exact, fit_quadratic(c1, exact)) == pytest.approx(1)
    noise = np.random.default_rng(0).normal(size=30)
    assert quadratic_fit_r2(c1, noise, fit_quadratic(c1, noise)) < 0.3
    assert np.isnan(quadratic_fit_r2(c1, exact, np.full(3, np.nan)))


def test_distance_from_the_surface_is_the_off_surface_offset():
    rng = np.random.default_rng(3)
    d, k = 400, 5
    comps = np.linalg.qr(rng.normal(size=(d, k + 1)))[0].T  # orthonormal rows; the last one outside the PCs
    mean, fit = rng.normal(size=d), (0.2, -0.5, 0.1)
    c1, c2 = rng.normal(size=4), rng.normal(size=4)
    on = surface_coefficients(c1, c2, "curved", fit)
    off = np.column_stack([[0.0, 1.5, -0.5, 0.0], [0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 1.0]])  # PC3, PC4, outside
    theta = mean + on @ comps[:3] + off[:, :1] @ comps[2:3] + off[:, 1:2] @ comps[3:4] + off[:, 2:] @ comps[k:]
    distance, residual, coords = off_surface(torch.tensor(theta), mean, comps[:k], on)
    np.testing.assert_allclose(distance, np.linalg.norm(off, axis=1), atol=1e-12)
    np.testing.assert_allclose(residual, off[:, 2], atol=1e-12)
    np.testing.assert_allclose(coords[:, :2], np.column_stack([c1, c2]), atol=1e-12)
    np.testing.assert_allclose(coords[:, 2], on[:, 2] + off[:, 0], atol=1e-12)
    flat = surface_coefficients(c1, c2, "flat", None)  # the flat plane misses PC3 as well
    want = np.sqrt(np.linalg.norm(off, axis=1) ** 2 + coords[:, 2] ** 2 - off[:, 0] ** 2)
    np.testing.assert_allclose(off_surface(torch.tensor(theta), mean, comps[:k], flat)[0], want, atol=1e-12)
