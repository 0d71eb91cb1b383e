"""Packed training (torch.func vmap over stacked parameters) equals separate training.

Compared in float64 on CPU with dropout p = 0: with dropout, vmap draws each model's masks
from one shared RNG stream, so the masks (and hence the weights) differ from separate runs.
Each model keeps its own permutation and crops/flips (its own path's seeds).
"""

import pytest
import torch
from nn_jobs import init, metrics, outputs, segment, spec
from tiny_cifar import write_tiny_prepared

from latedecay.io import load_torch
from latedecay.nn import engine, job
from latedecay.nn.data import load_sets
from latedecay.nn.models import build_model
from latedecay.nn.packed import Pack, train_epoch_packed


def _specs(lr=0.05):
    params = dict(seed=7, lr=lr, momentum=0.9, weight_decay=1e-4, batch_size=25, loss="mse",
                  eval_every=1, snapshot_every=1, resume_every=1)  # fmt: skip
    return [engine.Spec(path=f"decay{e}", **params) for e in (10, 20, 30)]


def _models(dropout):
    models = []
    for seed in (1, 2, 3):
        torch.manual_seed(seed)
        models.append(build_model("vgg_small", dropout=dropout).double())
    return models


def test_packed_equals_separate_without_dropout(tmp_path):
    torch.set_num_threads(1)
    data = write_tiny_prepared(tmp_path)
    train, _ = load_sets(data["train"], data["eval"], torch.device("cpu"))
    specs = _specs()
    pack = Pack(_models(dropout=0.0))
    optimizer = pack.optimizer(specs[0])
    packed_losses = [train_epoch_packed(pack, optimizer, train, specs, epoch) for epoch in (1, 2)]
    for k, (model, s) in enumerate(zip(_models(dropout=0.0), specs)):
        opt = engine.make_optimizer(model, s)
        losses = [engine.train_epoch(model, opt, train, s, epoch) for epoch in (1, 2)]
        unpacked = pack.load_into(k, build_model("vgg_small", dropout=0.0).double())
        for (name, p), q in zip(model.named_parameters(), unpacked.parameters()):
            assert torch.allclose(p, q, rtol=0, atol=1e-12), name
            assert not torch.equal(p, _models(0.0)[k].state_dict()[name])  # it trained
        for epoch in range(2):
            assert abs(losses[epoch].item() - packed_losses[epoch][k].item()) < 1e-12


def test_packed_dropout_masks_differ_per_model(tmp_path):
    torch.set_num_threads(1)
    data = write_tiny_prepared(tmp_path)
    train, _ = load_sets(data["train"], data["eval"], torch.device("cpu"))
    models = _models(dropout=0.5)
    models = [models[0]] + [build_model("vgg_small").double() for _ in (1, 2)]
    for m in models[1:]:
        m.load_state_dict(models[0].state_dict())
    specs = [engine.Spec(**{**vars(_specs()[0]), "path": "decay10"}) for _ in range(3)]  # same data stream
    pack = Pack(models)
    optimizer = pack.optimizer(specs[0])
    train_epoch_packed(pack, optimizer, train, specs, 1)
    first = pack.params["features.0.weight"]
    # identical weights and data: only the per-model dropout masks can make them differ
    assert not torch.equal(first[0], first[1]) and not torch.equal(first[1], first[2])


@pytest.fixture(scope="module")
def bn_main(tmp_path_factory):
    """A float64 vgg11_bn main path to epoch 2 (no dropout, BatchNorm buffers to stack)."""
    folder = tmp_path_factory.mktemp("bn_main")
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    try:
        data = write_tiny_prepared(folder)
        init(data, folder / "m0", arch="vgg11_bn")
        segment(data, folder / "m0", folder / "m1", 1, lr=0.001, arch="vgg11_bn")
        segment(data, folder / "m1", folder / "m2", 2, lr=0.001, arch="vgg11_bn")
    finally:
        torch.set_default_dtype(torch.float32)
    return folder, data


@pytest.mark.parametrize("reset", [True, False])
def test_pack_job_matches_separate_jobs(bn_main, tmp_path, reset):
    """The whole pack job against separate subpath jobs, in float64: same output files,
    weights and momentum equal to rounding (with or without the momentum reset)."""
    torch.set_default_dtype(torch.float64)  # models are built in float64; restored below
    try:
        _compare_pack_and_separate(*bn_main, tmp_path, reset)
    finally:
        torch.set_default_dtype(torch.float32)


def _compare_pack_and_separate(main, data, tmp_path, reset):
    decays, starts = [1, 2], [outputs(main / f"m{d}")["checkpoint"] for d in (1, 2)]
    outs = [outputs(tmp_path / f"pack{d}") for d in decays]
    specs = [spec(f"decay{d}", 0.0005) for d in decays]
    job.train_pack_job(data, "vgg11_bn", specs, starts, 1, outs, torch.device("cpu"), tmp_path / "r.pt", {},
                       decays=decays, reset_momentum=reset)  # fmt: skip
    for d, out in zip(decays, outs):
        alone = segment(data, main / f"m{d}", tmp_path / f"alone{d}", 1, lr=0.0005, decay=d, reset=reset,
                        arch="vgg11_bn")  # fmt: skip
        a, b = load_torch(out["checkpoint"]), load_torch(alone["checkpoint"])
        assert (a["epoch"], a["decay_epoch"], a["path"]) == (1, d, f"decay{d}")
        assert all(torch.isfinite(v).all() for v in b["model"].values())
        for name, value in b["model"].items():
            assert torch.allclose(a["model"][name], value, rtol=0, atol=1e-10), name
        bufs = [[s["momentum_buffer"] for s in c["optimizer"]["state"].values()] for c in (a, b)]
        assert len(bufs[0]) == len(bufs[1]) > 0
        assert all(torch.allclose(x, y, rtol=0, atol=1e-10) for x, y in zip(*bufs))
        ma, mb = metrics(out), metrics(alone)
        assert ma["epochs"] == mb["epochs"] == [1] and ma["eval"]["epoch"] == mb["eval"]["epoch"] == [1]
        assert ma["train_batch_loss"] == pytest.approx(mb["train_batch_loss"], rel=1e-10)
        assert ma["eval"]["test_loss"] == pytest.approx(mb["eval"]["test_loss"], rel=1e-10)  # BN running stats
        assert load_torch(out["snapshots"])["params"].shape == load_torch(alone["snapshots"])["params"].shape
    assert not (tmp_path / "r.pt").exists()
