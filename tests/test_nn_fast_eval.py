"""Exact rewrites for evaluation: the rewritten networks compute the same function."""

import pytest
import torch
from torch import nn
from torch.func import functional_call

from latedecay.nn.fast_eval import Conv2x2, MaxPool2x2, for_evaluation, unroll_bias, unroll_weight
from latedecay.nn.models import build_model, pool_before_relu


@pytest.mark.parametrize("cin,cout", [(3, 5), (16, 8)])
def test_conv2x2_is_the_convolution_on_2x2_maps(cin, cout):
    torch.manual_seed(0)
    conv = nn.Conv2d(cin, cout, 3, padding=1).double()
    x = torch.randn(7, cin, 2, 2, dtype=torch.float64)
    torch.testing.assert_close(Conv2x2(conv)(x), conv(x), rtol=0, atol=1e-13)
    with pytest.raises(ValueError, match="2x2"):
        Conv2x2(conv)(torch.randn(1, cin, 4, 4, dtype=torch.float64))


def test_unrolled_weights_keep_leading_dimensions():
    w, b = torch.randn(3, 4, 2, 3, 3), torch.randn(3, 4)
    assert unroll_weight(w).shape == (3, 16, 8) and unroll_bias(b).shape == (3, 16)
    torch.testing.assert_close(unroll_weight(w)[1], unroll_weight(w[1]), rtol=0, atol=0)


@pytest.mark.parametrize("shape", [(2, 3, 8, 6), (2, 3, 5, 4)])
def test_maxpool2x2_is_max_pool2d(shape):
    x = torch.randn(shape).contiguous(memory_format=torch.channels_last)
    assert torch.equal(MaxPool2x2()(x), nn.functional.max_pool2d(x, 2, 2))


@pytest.mark.parametrize(
    "arch,rewritten", [("vgg_small", ["features.16", "features.18"]), ("vgg11_bn", ["features.22", "features.25"])]
)
def test_evaluation_network_equals_the_plain_one(arch, rewritten):
    torch.manual_seed(1)
    plain = build_model(arch).double().eval()
    fast = pool_before_relu(build_model(arch).double())
    fast.load_state_dict(plain.state_dict())
    names = for_evaluation(fast.eval())
    assert names == rewritten  # exactly the convolutions that see 2x2 maps
    assert not any(isinstance(m, nn.MaxPool2d) for m in fast.modules())
    # Evaluated the way GridEvaluator does: plain parameters, unrolled for the Conv2x2 layers.
    params = {k: v for k, v in plain.named_parameters()}
    for name in names:
        params[f"{name}.weight"] = unroll_weight(params[f"{name}.weight"])
        params[f"{name}.bias"] = unroll_bias(params[f"{name}.bias"])
    x = torch.randn(6, 3, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        got = functional_call(fast, (params, dict(fast.named_buffers())), (x,))
        torch.testing.assert_close(got, plain(x), rtol=1e-12, atol=1e-12)
