"""K models trained together in one process (GPUs): torch.func.functional_call + vmap over
stacked parameters.

Each model keeps its own data stream (permutation and crops/flips from its own
(seed, path, epoch)), so a pack of subpaths sees exactly the batches the separate jobs
see. The summed loss gives every model its own gradient, and SGD (elementwise momentum
and weight decay) on stacked tensors equals K separate optimizers. Dropout under
``vmap(randomness="different")`` draws independent masks per model from the global RNG,
which do not match the masks of separate runs: packed and separate training agree
exactly only without dropout (what tests/test_nn_packed.py compares).
"""

import torch
from torch.func import functional_call, stack_module_state, vmap

from .data import normalize
from .engine import epoch_batches, make_optimizer
from .losses import per_sample_loss
from . import rng


class Pack:
    """Stacked parameters and buffers of K models sharing one architecture (``template``)."""

    def __init__(self, models):
        self.template = models[0]
        params, self.buffers = stack_module_state(models)
        self.params = {name: p.detach().clone().requires_grad_() for name, p in params.items()}
        self.size = len(models)

    def optimizer(self, spec):
        return torch.optim.SGD(
            list(self.params.values()), lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay
        )

    def state_dict(self):
        return {"params": {n: p.detach() for n, p in self.params.items()}, "buffers": self.buffers}

    def load_state_dict(self, state):
        with torch.no_grad():
            for name, p in self.params.items():
                p.copy_(state["params"][name])
            for name, b in self.buffers.items():
                b.copy_(state["buffers"][name])

    def load_momentum(self, optimizer, states):
        """Stack the momentum buffers of K single-model SGD state dicts (missing = zero,
        which is what SGD's first step does with no buffer)."""
        for i, p in enumerate(self.params.values()):
            bufs = [s["state"].get(i, {}).get("momentum_buffer") for s in states]
            bufs = [torch.zeros_like(p[0]) if b is None else b.to(p) for b in bufs]
            optimizer.state[p]["momentum_buffer"] = torch.stack(bufs)

    def unpacked_optimizer(self, optimizer, k, model, spec):
        """A single-model SGD for ``model`` (holding model k) with model k's momentum."""
        single = make_optimizer(model, spec)
        for stacked, p in zip(self.params.values(), model.parameters()):
            buf = optimizer.state.get(stacked, {}).get("momentum_buffer")
            if buf is not None:
                single.state[p]["momentum_buffer"] = buf[k].clone()
        return single

    def load_into(self, k, model):
        """Copy model k's parameters into ``model`` (for evaluation and checkpoints)."""
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(self.params[name][k])
            for name, b in model.named_buffers():
                b.copy_(self.buffers[name][k])
        return model


def _losses(pack, loss_name):
    def one(params, buffers, x, y):
        logits = functional_call(pack.template, (params, buffers), (x,))
        return per_sample_loss(loss_name, logits, y).mean()

    return vmap(one, randomness="different")


def train_epoch_packed(pack, optimizer, train, specs, epoch):
    """One epoch of all K models; returns their mean mini-batch losses, a [K] device tensor."""
    batches = [epoch_batches(train, spec, epoch) for spec in specs]
    images = torch.stack([b[0] for b in batches])  # [K, n, 3, 32, 32] uint8
    labels = torch.stack([b[1] for b in batches])
    torch.manual_seed(rng.epoch_seed(specs[0].seed, "pack:" + ",".join(s.path for s in specs), epoch, "dropout"))
    dtype = next(iter(pack.params.values())).dtype
    pack.template.train()
    losses_fn = _losses(pack, specs[0].loss)
    bs = specs[0].batch_size
    steps = labels.shape[1] // bs
    total = torch.zeros(pack.size, dtype=dtype, device=labels.device)
    for step in range(steps):
        batch = slice(step * bs, (step + 1) * bs)
        losses = losses_fn(pack.params, pack.buffers, normalize(images[:, batch], dtype), labels[:, batch])
        optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()  # a sum, not a mean: each model gets exactly its own gradient
        optimizer.step()
        total += losses.detach()
    return total / steps
