"""Networks and losses: parameter counts, the authors' init, closed-form losses."""

import pytest
import torch
from torch import nn

from latedecay.nn.data import MEAN, STD, normalize
from latedecay.nn.losses import correct, per_sample_loss
from latedecay.nn.models import MaskedDropout, build_model, num_params, pool_before_relu


@pytest.mark.parametrize("arch, count", [("vgg_small", 1_250_634), ("vgg11_bn", 9_231_114)])
def test_parameter_counts_and_output_shape(arch, count):
    torch.manual_seed(0)
    model = build_model(arch).eval()
    assert num_params(model) == count
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_vgg_small_layout_and_init():
    torch.manual_seed(0)
    model = build_model("vgg_small")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [c.out_channels for c in convs] == [32, 64, 64, 64, 128, 128, 256, 256]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(256, 128), (128, 128), (128, 10)]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert [(m.p, m.features) for m in model.modules() if isinstance(m, MaskedDropout)] == [(0.5, 128), (0.5, 128)]
    for conv in convs:  # Kaiming normal, fan_out: std = sqrt(2 / (out * 9))
        expected = (2 / (conv.out_channels * 9)) ** 0.5
        assert conv.weight.std().item() == pytest.approx(expected, rel=0.1)
        assert torch.all(conv.bias == 0)
    for lin in linears:
        assert lin.weight.std().item() == pytest.approx(0.01, rel=0.1)
        assert torch.all(lin.bias == 0)


def test_init_is_seeded():
    torch.manual_seed(7)
    a = build_model("vgg_small").state_dict()
    torch.manual_seed(7)
    b = build_model("vgg_small").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("arch", ["vgg_small", "vgg11_bn"])
def test_pool_before_relu_changes_no_number(arch):
    """Values, gradients and SGD steps bitwise equal; same state_dict keys; ReLU after each pool."""
    torch.manual_seed(3)
    plain = build_model(arch, dropout=0.0).double()
    swapped = pool_before_relu(build_model(arch, dropout=0.0).double())
    swapped.load_state_dict(plain.state_dict())
    assert list(plain.state_dict()) == list(swapped.state_dict())
    kinds = [type(m).__name__ for m in swapped.features]
    assert "ReLUMaxPool2d" not in "".join(kinds) and kinds.count("MaxPool2d") == 5
    assert all(kinds[i + 1] == "ReLU" for i, k in enumerate(kinds) if k == "MaxPool2d")
    x, y = torch.randn(16, 3, 32, 32, dtype=torch.float64), torch.randint(0, 10, (16,))
    opts = [torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (plain, swapped)]
    for _ in range(3):
        outs = []
        for model, opt in zip((plain, swapped), opts):
            opt.zero_grad()
            out = model(x)
            nn.functional.cross_entropy(out, y).backward()
            opt.step()
            outs.append(out.detach())
        assert torch.equal(*outs)
    assert all(torch.equal(a, b) for a, b in zip(plain.parameters(), swapped.parameters()))


def test_unknown_arch():
    with pytest.raises(ValueError, match="vgg_small"):
        build_model("resnet18")


def test_mse_is_half_squared_distance_to_onehot():
    logits = torch.tensor([[1.0, 0.0, 2.0], [0.5, 0.5, 0.5]])
    labels = torch.tensor([2, 0])
    # (1^2 + 0 + 1^2) / 2 = 1 and (0.25 + 0.25 + 0.25) / 2 = 0.375
    assert per_sample_loss("mse", logits, labels).tolist() == [1.0, 0.375]
    ce = per_sample_loss("cross_entropy", logits, labels)
    assert ce[1].item() == pytest.approx(torch.log(torch.tensor(3.0)).item())
    assert correct(logits, labels).item() == 2
    with pytest.raises(ValueError):
        per_sample_loss("hinge", logits, labels)


def test_normalize_uses_the_paper_statistics():
    images = torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)
    images[0, :, 0, 0] = 0
    out = normalize(images)
    for c in range(3):
        assert out[0, c, 0, 0].item() == pytest.approx(-MEAN[c] / STD[c], rel=1e-6)
        assert out[0, c, 1, 1].item() == pytest.approx((1 - MEAN[c]) / STD[c], rel=1e-6)
    assert normalize(images, torch.float64).dtype == torch.float64


def test_masked_dropout_applies_the_given_mask_and_refuses_none():
    layer = MaskedDropout(0.5, 4)
    x = torch.ones(2, 4)
    layer.mask = torch.tensor([[0.0, 2.0, 2.0, 0.0], [2.0, 0.0, 0.0, 2.0]])
    assert torch.equal(layer(x), layer.mask)
    assert torch.equal(layer.eval()(x), x)  # eval mode: identity
    layer.train().mask = torch.empty(0)
    with pytest.raises(RuntimeError, match="dropout mask"):
        layer(x)
    assert "mask" not in layer.state_dict()  # checkpoints keep nn.Dropout's keys
