"""The training step as a GPU needs it, checked on CPU: no tensor made from host data
inside a step (each one is a blocking host-to-device copy on CUDA), and momentum buffers
laid out like their parameters (the fused SGD kernel requires it)."""

import numpy as np
import pytest
import torch

from latedecay.nn import data, engine, trainer
from latedecay.nn.models import build_model
from latedecay.nn.schedule import Schedule
from latedecay.nn.trainer import Run, Trainer
from nn_jobs import settings

HOST_FACTORIES = ("tensor", "as_tensor", "from_numpy", "asarray")


def synthetic(n=50):
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=gen)
    return data.Split(images, torch.arange(n) % 10)


def make(runs, **overrides):
    torch.manual_seed(0)
    models = [engine.place(build_model("vgg_small"), torch.device("cpu")) for _ in runs]
    return Trainer.create(models, runs, settings(**overrides), Schedule(0.05))


@pytest.fixture
def host_tensors(monkeypatch):
    """A list that records every tensor made from host data (torch.tensor and friends)."""
    made = []
    for name in HOST_FACTORIES:
        original = getattr(torch, name)

        def counting(*args, _original=original, _name=name, **kwargs):
            made.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(torch, name, counting)
    return made


@pytest.mark.parametrize("size", [1, 2])
def test_a_training_step_makes_no_tensor_from_host_data(size, host_tensors):
    train = synthetic()
    trained = make([Run(7, f"decay{k}") for k in range(size)])
    trained.train_epoch(train, 1)  # first epoch: one-off set-up (normalization constants)
    host_tensors.clear()
    trained.train_epoch(train, 2)
    assert host_tensors == []


def test_the_counter_sees_host_data(host_tensors):
    """The fixture counts what a step would pay for: the statistics built per call."""
    torch.tensor(data.MEAN)
    torch.from_numpy(np.zeros(3))
    assert host_tensors == ["tensor", "from_numpy"]


def test_statistics_are_made_once_per_device_and_dtype():
    images = synthetic(4).images
    data.normalize(images)
    a = data._statistics(images.device, torch.float32)
    data.normalize(images)
    assert data._statistics(images.device, torch.float32)[0] is a[0]
    assert data._statistics(images.device, torch.float64)[0].dtype == torch.float64


def test_to_device_keeps_values_and_dtypes():
    perm, flips = torch.randperm(10), torch.rand(10) > 0.5
    assert trainer.to_device([perm, flips], torch.device("cpu"))[0] is perm
    meta = trainer.to_device([perm, flips], torch.device("meta"))
    assert [t.dtype for t in meta] == [torch.int64, torch.bool] and meta[0].shape == perm.shape


def _later_start():
    """A single-model SGD state with momentum: a main path after one epoch."""
    main = make([Run(7, "main")])
    main.train_epoch(synthetic(), 1)
    return main.single_state(0)[1]


def _pack_from_mixed_starts(monkeypatch):
    """A pack of decay 0 (no momentum yet) and a later decay (momentum), reset_momentum false,
    with SGD fused as on CUDA (the fused kernel runs on CPU too)."""
    monkeypatch.setattr(trainer, "fused_sgd", lambda device: True)
    pack = make([Run(7, "decay0"), Run(7, "decay100")])
    assert pack.optimizer.defaults["fused"]
    pack.load_momentum([{"state": {}, "param_groups": []}, _later_start()])
    return pack


def test_momentum_buffers_share_their_parameters_layout(monkeypatch):
    pack = _pack_from_mixed_starts(monkeypatch)
    for p, buf in zip(pack.parameters(), pack.momentum()):
        assert buf.stride() == p.stride() and buf.is_contiguous() == p.is_contiguous()
    assert any(p.dim() == 5 and not p.is_contiguous() for p in pack.parameters())  # channels_last convs


def test_fused_sgd_trains_a_pack_of_mixed_starts(monkeypatch):
    pack = _pack_from_mixed_starts(monkeypatch)
    before = pack.flat_params(0).clone()
    losses = pack.train_epoch(synthetic(), 1)
    assert torch.isfinite(losses).all() and not torch.equal(before, pack.flat_params(0))


def test_resumed_momentum_keeps_the_layout(monkeypatch):
    pack = _pack_from_mixed_starts(monkeypatch)
    state = pack.state_dict()
    state["momentum"] = [None if b is None else b.contiguous() for b in state["momentum"]]
    pack.load_state_dict(state)
    assert all(b.stride() == p.stride() for p, b in zip(pack.parameters(), pack.momentum()))
