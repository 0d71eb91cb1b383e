"""The two networks of the experiment.

``vgg_small`` is the authors' model (VGG-11 layout at reduced width, no BatchNorm,
dropout in the classifier); ``vgg11_bn`` is the standard CIFAR VGG-11 with BatchNorm.
"""

import torch
from torch import nn

# "M" = 2x2 max-pool, stride 2.
VGG_SMALL_LAYERS = [32, "M", 64, "M", 64, 64, "M", 128, 128, "M", 256, 256, "M"]
VGG11_LAYERS = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]
NUM_CLASSES = 10


def _features(layers, batch_norm):
    modules, channels = [], 3
    for item in layers:
        if item == "M":
            modules.append(nn.MaxPool2d(2, 2))
            continue
        modules.append(nn.Conv2d(channels, item, 3, padding=1))
        if batch_norm:
            modules.append(nn.BatchNorm2d(item))
        modules.append(nn.ReLU(inplace=True))
        channels = item
    return nn.Sequential(*modules)


class MaskedDropout(nn.Module):
    """Dropout whose scaled keep-mask (0 or 1/(1-p) per feature) is given, not drawn.

    The trainer draws each model's masks from that model's own keyed generator
    (``nn.trainer``), so a model sees the same masks alone or in a vmapped pack, where
    the mask arrives as a per-model buffer through ``torch.func.functional_call``.
    The buffer is not persistent: checkpoints hold the same keys as with nn.Dropout.
    """

    def __init__(self, p, features):
        super().__init__()
        self.p, self.features = p, features
        self.register_buffer("mask", torch.empty(0), persistent=False)

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        if self.mask.shape != x.shape:
            raise RuntimeError(
                f"dropout mask of shape {tuple(self.mask.shape)} for input {tuple(x.shape)}: "
                "train through latedecay.nn.trainer, which sets the masks"
            )
        return x * self.mask


class VGG(nn.Module):
    def __init__(self, features, classifier):
        super().__init__()
        self.features = features
        self.classifier = classifier

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def vgg_small(dropout=0.5):
    classifier = nn.Sequential(
        nn.Linear(256, 128),
        nn.ReLU(inplace=True),
        MaskedDropout(dropout, 128),
        nn.Linear(128, 128),
        nn.ReLU(inplace=True),
        MaskedDropout(dropout, 128),
        nn.Linear(128, NUM_CLASSES),
    )
    model = VGG(_features(VGG_SMALL_LAYERS, batch_norm=False), classifier)
    # The authors' init: Kaiming-normal convs (fan_out, ReLU), N(0, 0.01^2) linears, zero biases.
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0.0, 0.01)
            nn.init.zeros_(module.bias)
    return model


def vgg11_bn(dropout=None):
    # Standard CIFAR VGG-11: 512 features after five pools, one linear layer, PyTorch default init.
    del dropout  # no dropout in this network
    return VGG(_features(VGG11_LAYERS, batch_norm=True), nn.Linear(512, NUM_CLASSES))


ARCHS = {"vgg_small": vgg_small, "vgg11_bn": vgg11_bn}


def build_model(arch, dropout=0.5):
    """Build ``arch`` with the global torch RNG (seed it first for a reproducible init).

    ``dropout`` exists for tests that need a forward pass without dropout.
    """
    if arch not in ARCHS:
        raise ValueError(f"unknown model arch {arch!r}; choose one of {sorted(ARCHS)}")
    return ARCHS[arch](dropout=dropout)


def pool_before_relu(model):
    """Move every max-pool in front of the ReLU that precedes it, in place; returns ``model``.

    Max-pooling and ReLU commute exactly, in values and in gradients (a window whose maximum
    is <= 0 passes zero gradient either way), so no number changes, while ReLU and its
    backward touch a quarter of the elements. The convolutions keep their module indices,
    hence the state_dict keys."""
    for layers in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(layers) - 1):
            if isinstance(layers[i], nn.ReLU) and isinstance(layers[i + 1], nn.MaxPool2d):
                layers[i], layers[i + 1] = layers[i + 1], layers[i]
    return model


def num_params(model):
    return sum(p.numel() for p in model.parameters())
