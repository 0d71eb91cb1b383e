"""The batched grid evaluator equals one-point-at-a-time evaluation (float64, 1e-10)."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import parameters_to_vector

from latedecay.landscape import reference
from latedecay.landscape.evaluate import GridEvaluator
from latedecay.landscape.settings import EvalSpec
from latedecay.nn.data import normalize
from latedecay.nn.models import build_model


def bn_net():
    """A small stand-in for vgg11_bn: BatchNorm after each conv, dropout before the head."""
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(4),
        nn.Conv2d(4, 6, 3, padding=1),
        nn.BatchNorm2d(6),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(6, 10),
    )


MODELS = {"vgg_small": lambda: build_model("vgg_small"), "bn_net": bn_net}


def data(n, seed):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8),
        torch.randint(0, 10, (n,), generator=g),
    )


def surface(make, k=3, seed=0, scale=0.05):
    torch.manual_seed(seed)
    model = make().double()
    mean = parameters_to_vector(model.parameters()).detach()
    basis = torch.randn(k, mean.numel(), dtype=torch.float64) * scale * mean.abs().mean()
    coefs = np.random.default_rng(seed).normal(size=(5, k))
    return mean, basis, coefs


def batched(make, mean, basis, coefs, train, test, **spec):
    spec = EvalSpec(**{"loss": "mse", "precision": "float64", "batch_size": 16, **spec})
    return GridEvaluator(make(), mean, basis, spec, "cpu").evaluate(coefs, train, test)


CASES = [
    ("vgg_small", "recompute", "mse"),
    ("vgg_small", "recompute", "cross_entropy"),
    ("bn_net", "recompute", "mse"),
    ("bn_net", "batch", "mse"),
    ("bn_net", "recompute", "cross_entropy"),
]


@pytest.mark.parametrize("name,bn_stats,loss", CASES)
@pytest.mark.parametrize("points_per_pass", [1, 3])
def test_batched_equals_one_point_at_a_time(name, bn_stats, loss, points_per_pass):
    torch.set_num_threads(1)
    make = MODELS[name]
    mean, basis, coefs = surface(make)
    train, test = data(40, 1), data(24, 2)
    got = batched(
        make,
        mean,
        basis,
        coefs,
        train,
        test,
        loss=loss,
        bn_stats=bn_stats,
        points_per_pass=points_per_pass,
        channels_last=points_per_pass == 1,
    )
    want = reference.evaluate_grid(make().double(), mean, basis, coefs, (train, test), loss, bn_stats, batch_size=16)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=0, atol=1e-10, err_msg=key)
    assert np.ptp(got["train_loss"]) > 1e-4  # the points really differ


def test_batchnorm_policy_changes_the_result():
    mean, basis, coefs = surface(bn_net)
    train, test = data(40, 1), data(24, 2)
    recompute = batched(bn_net, mean, basis, coefs, train, test, bn_stats="recompute", points_per_pass=2)
    per_batch = batched(bn_net, mean, basis, coefs, train, test, bn_stats="batch", points_per_pass=2)
    assert np.abs(recompute["test_loss"] - per_batch["test_loss"]).max() > 1e-6


def test_recomputed_statistics_are_the_cumulative_average_over_training_batches():
    torch.manual_seed(3)
    make = bn_net
    mean, basis, coefs = surface(make)
    train = data(48, 1)
    ev = GridEvaluator(
        make(),
        mean,
        basis,
        EvalSpec("mse", points_per_pass=2, batch_size=16, precision="float64", channels_last=False),
        "cpu",
    )
    params, buffers = ev._weights(coefs[:2]), ev._stacked_buffers(2)
    ev._recompute_bn(params, buffers, ev._batches(train[0]))
    # closed form for the first BatchNorm: mean over the 3 batches of each batch's channel mean
    x = normalize(train[0], torch.float64)
    conv = nn.Conv2d(3, 4, 3, padding=1).double()
    with torch.no_grad():
        conv.weight.copy_(params["0.weight"][1])
        conv.bias.copy_(params["0.bias"][1])
        out = conv(x)
    batch_means = torch.stack([out[i : i + 16].mean(dim=(0, 2, 3)) for i in (0, 16, 32)])
    batch_vars = torch.stack([out[i : i + 16].var(dim=(0, 2, 3)) for i in (0, 16, 32)])
    torch.testing.assert_close(buffers["1.running_mean"][1], batch_means.mean(0), rtol=0, atol=1e-12)
    torch.testing.assert_close(buffers["1.running_var"][1], batch_vars.mean(0), rtol=0, atol=1e-12)


def test_float32_default_is_close_to_float64():
    make = MODELS["vgg_small"]
    mean, basis, coefs = surface(make)
    train, test = data(32, 1), data(16, 2)
    hi = batched(make, mean, basis, coefs, train, test)
    lo = batched(make, mean.float(), basis.float(), coefs, train, test, precision="float32")
    np.testing.assert_allclose(lo["train_loss"], hi["train_loss"], rtol=1e-4)


def test_auto_points_per_pass_is_one_on_cpu():
    mean, basis, _ = surface(bn_net)
    ev = GridEvaluator(bn_net(), mean, basis, EvalSpec("mse"), "cpu")
    assert ev.spec.points_per_pass == 1 and ev.bn_mode == "recompute"
    assert (
        GridEvaluator(build_model("vgg_small"), *surface(MODELS["vgg_small"])[:2], EvalSpec("mse"), "cpu").bn_mode
        == "none"
    )


@pytest.mark.parametrize("name,points_per_pass", [("vgg_small", 1), ("bn_net", 3)])
def test_evaluate_weights_equals_evaluate_at_the_same_weights(name, points_per_pass):
    make = MODELS[name]
    mean, basis, coefs = surface(make)
    train, test = data(32, 1), data(16, 2)
    spec = EvalSpec("mse", points_per_pass=points_per_pass, precision="float64", batch_size=16, channels_last=False)
    ev = GridEvaluator(make(), mean, basis, spec, "cpu")
    weights = mean + torch.as_tensor(coefs) @ basis  # 5 points, not a multiple of 3
    got, want = ev.evaluate_weights(weights, train, test), ev.evaluate(coefs, train, test)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=0, atol=1e-12, err_msg=key)
    with pytest.raises(ValueError, match="parameters"):
        ev.evaluate_weights(weights[:, :-1], train, test)
