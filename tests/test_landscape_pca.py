"""PCA of the snapshots against an independent SVD, and the snapshot gathering."""

import numpy as np
import pytest
import torch

from latedecay.io import save_torch
from latedecay.landscape.pca import fit_pca, fit_quadratic
from latedecay.landscape.snapshots import load_trajectories, select_snapshots


def snapshot_matrix(n=12, d=1000, seed=0):
    rng = np.random.default_rng(seed)
    scales = np.geomspace(10, 0.1, n)[:, None]  # well separated variances
    return torch.from_numpy(
        rng.normal(size=(n, 1)) + scales * rng.normal(size=(n, d)) @ np.diag(rng.uniform(0.5, 1.5, d))
    )


@pytest.mark.parametrize("block", [97, 1 << 16])
def test_matches_svd_of_centred_matrix(block):
    x = snapshot_matrix()
    pca = fit_pca(x.float(), 5, block=block)
    xf = x.float().double().numpy()
    centred = xf - xf.mean(0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    comps = pca.components.numpy()
    np.testing.assert_allclose(np.abs(np.sum(comps * vt[:5], axis=1)), 1, atol=1e-9)  # same axes up to sign
    np.testing.assert_allclose(pca.variance, s[:5] ** 2 / (len(xf) - 1), rtol=1e-9)
    np.testing.assert_allclose(pca.ratio, s[:5] ** 2 / np.sum(s**2), rtol=1e-9)
    np.testing.assert_allclose(comps @ comps.T, np.eye(5), atol=1e-12)
    np.testing.assert_allclose(pca.coords, centred @ comps.T, atol=1e-9)
    np.testing.assert_allclose(pca.mean.numpy(), xf.mean(0), atol=1e-12)


def test_all_components_reconstruct_every_snapshot():
    x = snapshot_matrix(n=9, d=300, seed=1)
    pca = fit_pca(x, 8)  # rank of 9 centred rows
    back = pca.mean.numpy() + pca.coords @ pca.components.numpy()
    np.testing.assert_allclose(back, x.numpy(), rtol=0, atol=1e-10 * float(x.abs().max()))
    assert pca.ratio.sum() == pytest.approx(1, abs=1e-12)


def test_sign_makes_largest_coordinate_positive():
    pca = fit_pca(snapshot_matrix(seed=2), 4)
    for j in range(4):
        assert pca.coords[np.argmax(np.abs(pca.coords[:, j])), j] > 0


def test_too_many_components_names_the_key():
    with pytest.raises(ValueError, match="landscape.components"):
        fit_pca(snapshot_matrix(n=4, d=50), 4)
    rank_one = torch.outer(torch.arange(6.0, dtype=torch.float64), torch.ones(20, dtype=torch.float64))
    with pytest.raises(ValueError, match="landscape.components"):
        fit_pca(rank_one, 2)


def test_quadratic_fit_recovers_coefficients():
    c1 = np.linspace(-3, 4, 20)
    np.testing.assert_allclose(fit_quadratic(c1, 0.3 * c1**2 - 1.5 * c1 + 2), [0.3, -1.5, 2], atol=1e-10)


def write_snapshots(path, epochs, decay=None, d=6):
    params = torch.tensor([[e + 0.1 * j for j in range(d)] for e in epochs], dtype=torch.float32).reshape(-1, d)
    save_torch(
        {
            "epochs": torch.tensor(epochs, dtype=torch.int64),
            "params": params,
            "path": "main" if decay is None else f"decay{decay}",
            "decay_epoch": decay,
        },
        path,
    )
    return path


def test_trajectories_from_engine_files(tmp_path):
    main = [write_snapshots(tmp_path / f"m{e}.pt", ep) for e, ep in [(20, [10, 20]), (0, [0]), (40, [30, 40])]]
    subs = [write_snapshots(tmp_path / f"s{d}.pt", [5, 10, 15], decay=d) for d in (40, 20)]
    t = load_trajectories(main, subs)
    assert t.runs == ["main"] * 5 + ["decay20"] * 3 + ["decay40"] * 3
    assert t.epochs.tolist() == [0, 10, 20, 30, 40, 25, 30, 35, 45, 50, 55]
    assert t.params[:, 0].tolist() == [0, 10, 20, 30, 40, 5, 10, 15, 5, 10, 15]  # rows follow the labels
    # stride 2 from main_start 10: every other snapshot, the last one and the branch points
    t = load_trajectories(main, subs, stride=2, main_start=10)
    assert list(zip(t.runs, t.epochs.tolist())) == [
        ("main", 10),
        ("main", 20),
        ("main", 30),
        ("main", 40),
        ("decay20", 25),
        ("decay20", 35),
        ("decay40", 45),
        ("decay40", 55),
    ]


def test_bad_snapshot_file_is_named(tmp_path):
    good = write_snapshots(tmp_path / "main.pt", [0, 10])
    bad = tmp_path / "sub.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(RuntimeError, match="sub.pt"):
        load_trajectories([good], [bad])
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_trajectories([good, tmp_path / "missing.pt"], [])
    save_torch({"epochs": torch.tensor([1])}, tmp_path / "nokey.pt")
    with pytest.raises(RuntimeError, match="nokey.pt"):
        load_trajectories([good], [tmp_path / "nokey.pt"])


def test_selected_snapshots_follow_the_requested_order(tmp_path):
    main = [write_snapshots(tmp_path / "m0.pt", [0, 10]), write_snapshots(tmp_path / "m20.pt", [10, 20])]
    subs = [write_snapshots(tmp_path / "s10.pt", [5, 10], decay=10)]
    rows = select_snapshots(main, subs, ["decay10", "main", "main", "decay10"], [20, 0, 20, 15])
    assert rows[:, 0].tolist() == [10, 0, 20, 5]  # decay10 epoch 20 = its 10th epoch after the decay
    with pytest.raises(RuntimeError, match="decay10 at epoch 10"):
        select_snapshots(main, subs, ["decay10"], [10])  # epoch 0 of a subpath is the main path's


@pytest.mark.parametrize(
    "every, stride, main_start, decays",
    [(1, 1, 0, [4, 8]), (3, 1, 0, [4, 8]), (2, 3, 5, [4, 6, 8]), (4, 2, 9, [8]), (5, 1, 0, [])],
)
def test_planned_snapshot_count_matches_the_files(tmp_path, every, stride, main_start, decays):
    """What the config check counts is what the PCA job gathers from files laid out as the
    training jobs write them: epoch 0, then segments of 4 epochs, subpaths of 6 epochs."""
    from latedecay.landscape.selection import planned_count

    main_epochs, segment, sub_epochs = 12, 4, 6
    main = [write_snapshots(tmp_path / "m0.pt", [0])]
    for end in range(segment, main_epochs + 1, segment):
        epochs = [e for e in range(end - segment + 1, end + 1) if e % every == 0]
        main.append(write_snapshots(tmp_path / f"m{end}.pt", epochs))
    after = [e for e in range(1, sub_epochs + 1) if e % every == 0]  # epochs counted after the decay
    subs = [write_snapshots(tmp_path / f"s{d}.pt", after, decay=d) for d in decays]
    gathered = len(load_trajectories(main, subs, stride, main_start).runs)
    assert planned_count(main_epochs, sub_epochs, every, decays, stride, main_start) == gathered
