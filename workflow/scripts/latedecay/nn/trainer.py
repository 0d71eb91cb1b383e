"""The one training core: K >= 1 models of one architecture trained in lockstep.

Every random draw of model k (its permutation, crops/flips and dropout masks) comes from
generators keyed by its own run, (seed, label, epoch, purpose) (``nn.rng``), so a model
trains to the same numbers alone, in a pack of any size, split into segments or resumed
after a kill. Layouts differ only in how the forward pass is batched: one module call
(``Single``, K = 1) or torch.func.vmap over stacked parameters (``Stacked``, K > 1, for
GPUs), which agree to round-off. The loss summed over models gives each model exactly
its own gradient, and SGD (elementwise momentum and weight decay) on stacked tensors
equals K separate optimizers.

train.precision (autocast) and train.compile (torch.compile of the loss and of the
evaluation forward pass) apply to both layouts alike (``nn.numerics``); under vmap, where
autocast does not reach, the stacked layout's layers cast as autocast would
(``numerics.vmap_template``).
"""

import copy
from dataclasses import dataclass

import torch
from torch.func import functional_call, stack_module_state, vmap

from . import numerics, rng
from .augment import crop_flip, draw
from .data import model_input, normalize
from .fast_eval import EvaluationCopy
from .losses import per_sample_loss
from .models import MaskedDropout


@dataclass(frozen=True)
class Run:
    """One trajectory: its seed and its names.run_label ("main" or "decay<E>")."""

    seed: int
    label: str


def epoch_draws(train, run, epoch, batch_size, dropouts):
    """One run's epoch: augmented uint8 images and labels in visiting order (drop_last),
    and one boolean keep-mask [used, features] per dropout layer ``(p, features)``."""
    gen = rng.generator(run.seed, run.label, epoch, "data")
    n = len(train.labels)
    used = (n // batch_size) * batch_size
    perm = torch.randperm(n, generator=gen)
    offsets, flips = draw(n, gen)
    device = train.labels.device
    perm, offsets, flips = to_device([perm[:used], offsets[:used], flips[:used]], device)
    images = crop_flip(train.images[perm], offsets, flips)
    masks = rng.generator(run.seed, run.label, epoch, "dropout", device)
    keep = [torch.rand((used, f), generator=masks, device=device) >= p for p, f in dropouts]
    return images, train.labels[perm], keep


def fused_sgd(device):
    """SGD runs fused on CUDA only: on CPU the unfused update keeps the CPU bytes."""
    return device.type == "cuda"


def to_device(tensors, device):
    """Host tensors on ``device`` in one copy: packed into one pinned int64 buffer and sent
    non_blocking on CUDA, so the step loop never waits on a host-to-device copy. (The
    pinned-memory allocator keeps a buffer until its copy has run, so no race.)"""
    if device.type == "cpu":
        return tensors
    flat = torch.cat([t.reshape(-1).to(torch.int64) for t in tensors])
    if device.type == "cuda":
        flat = flat.pin_memory()
    parts = flat.to(device, non_blocking=True).split([t.numel() for t in tensors])
    return [part.view(t.shape).to(t.dtype) for part, t in zip(parts, tensors)]


@dataclass(frozen=True)
class Partial:
    """An epoch stopped at a step boundary: its number, the steps done, and the sum of
    their mini-batch losses ([K], in the weights' dtype): with the weights and momentum
    at that step, all it takes to finish the epoch as if it had not stopped."""

    epoch: int
    step: int
    total: torch.Tensor


class Trainer:
    """K models in lockstep. ``create`` picks the layout; subclasses only batch the forward
    pass and hold the weights."""

    @staticmethod
    def create(models, runs, settings, schedule):
        """A trainer for ``models`` (placed on their device, one per run), their learning
        rate by ``schedule`` (nn.schedule.Schedule, shared by the K runs)."""
        if len(models) != len(runs) or not runs:
            raise ValueError(f"{len(models)} models for {len(runs)} runs")
        layout = Single if len(models) == 1 else Stacked
        return layout(models, runs, settings, schedule)

    def __init__(self, models, runs, settings, schedule):
        self.runs, self.settings, self.schedule, self.size = list(runs), settings, schedule, len(runs)
        self.lr = float(schedule.lr)
        named = [(n, m) for n, m in models[0].named_modules() if isinstance(m, MaskedDropout) and m.p > 0]
        self.dropout_names = [n for n, _ in named]
        self.dropouts = [(m.p, m.features) for _, m in named]
        self.device = next(models[0].parameters()).device
        self.compile_mode = numerics.compile_mode(settings.compile, self.device)
        self.autocast = lambda: numerics.autocast(settings.precision, self.device)
        self.optimizer = self._sgd(self.parameters())
        self._evaluation = None

    def _sgd(self, params):
        """The one place hyperparameters are applied. Fused on CUDA: the same update in one kernel."""
        s = self.settings
        fused = fused_sgd(self.device) or None
        return torch.optim.SGD(params, lr=self.lr, momentum=s.momentum, weight_decay=s.weight_decay, fused=fused)

    def set_lr(self, lr):
        """The rate of the steps to come; the engine sets it at each epoch from the schedule."""
        self.lr = float(lr)
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr

    def _loss_function(self, template):
        """loss(params, buffers, x, y) of one model: the forward pass (autocast), the loss in
        the weights' precision; what vmap batches and torch.compile compiles."""

        def loss(params, buffers, x, y):
            with self.autocast():
                logits = functional_call(template, (params, buffers), (x,))
            return per_sample_loss(self.settings.loss, logits.to(self.dtype), y).mean()

        return loss

    def evaluation(self, k):
        """(module, forward) evaluating model k: the fast_eval rewrites, compiled when train.compile says so."""
        if self._evaluation is None:
            copy_ = EvaluationCopy(self.model(k))
            self._evaluation = copy_, numerics.compiled(copy_.module, self.compile_mode)
        copy_, forward = self._evaluation
        return copy_.load(self.model(k)), forward

    def train_epoch(self, train, epoch, partial=None, stop=None):
        """One epoch of all K models; their mean mini-batch losses as a [K] device tensor.
        From ``partial`` (a Partial of this epoch) on if given; when ``stop()`` turns true
        after a step that is not the epoch's last, the Partial to continue from instead."""
        images, labels, masks = self._epoch(train, epoch)  # the same draws whatever the first step
        bs = self.settings.batch_size
        steps = labels.shape[1] // bs
        first, total = 0, torch.zeros(self.size, dtype=self.dtype, device=labels.device)
        if partial is not None:
            first, total = partial.step, partial.total.to(total, copy=True)
        self._train_mode()
        for step in range(first, steps):
            batch = slice(step * bs, (step + 1) * bs)
            losses = self._losses(images[:, batch], labels[:, batch], [m[:, batch] for m in masks])
            self.optimizer.zero_grad(set_to_none=True)
            losses.sum().backward()
            self.optimizer.step()
            total += losses.detach()
            if stop is not None and stop() and step + 1 < steps:
                return Partial(epoch, step + 1, total)
        return total / steps

    def _epoch(self, train, epoch):
        draws = [epoch_draws(train, run, epoch, self.settings.batch_size, self.dropouts) for run in self.runs]
        images = torch.stack([d[0] for d in draws])  # [K, used, 3, 32, 32] uint8
        labels = torch.stack([d[1] for d in draws])
        # scaled keep-masks [K, used, features] per dropout layer: 0 or 1/(1-p)
        masks = [
            torch.stack([d[2][j] for d in draws]).to(self.dtype) / (1 - p) for j, (p, _) in enumerate(self.dropouts)
        ]
        return images, labels, masks

    def momentum(self):
        """Per parameter (optimizer order): the stacked momentum buffer, or None before the first step."""
        return [self.optimizer.state.get(p, {}).get("momentum_buffer") for p in self.parameters()]

    def load_momentum(self, states):
        """Momentum buffers from K single-model SGD state dicts (a missing buffer counts as
        zero, which is what SGD's first step does without one)."""
        stacked = []
        for i, p in enumerate(self.parameters()):
            bufs = [s["state"].get(i, {}).get("momentum_buffer") for s in states]
            shape = p.shape[1:] if self.size > 1 else p.shape
            zeros = torch.zeros(shape, dtype=p.dtype, device=p.device)
            missing = all(b is None for b in bufs)
            stacked.append(None if missing else self._stack([zeros if b is None else b.to(p) for b in bufs]))
        self._set_momentum(stacked)

    def single_state(self, k):
        """Model k's (state_dict, single-model SGD state_dict): the checkpoint format."""
        model = self.model(k)
        optimizer = self._sgd(model.parameters())
        for p, buf in zip(model.parameters(), self.momentum()):
            if buf is not None:
                optimizer.state[p]["momentum_buffer"] = (buf[k] if self.size > 1 else buf).detach().clone()
        return {n: t.detach().clone() for n, t in model.state_dict().items()}, optimizer.state_dict()

    def _set_momentum(self, bufs):
        """Each buffer in its parameter's exact layout (strides), whatever it was loaded or
        stacked in: the fused CUDA kernel rejects a buffer laid out unlike its parameter."""
        for p, buf in zip(self.parameters(), bufs):
            if buf is not None:
                self.optimizer.state[p]["momentum_buffer"] = torch.empty_like(p).copy_(buf)

    def all_finite(self):
        return all(bool(torch.isfinite(p).all()) for p in self.parameters())


class Single(Trainer):
    """One model, called as a module (the fast path on CPUs)."""

    def __init__(self, models, runs, settings, schedule):
        self.module = models[0]
        self.dtype = next(self.module.parameters()).dtype
        super().__init__(models, runs, settings, schedule)
        self._mask_modules = [self.module.get_submodule(n) for n in self.dropout_names]
        self._mask_keys = [f"{n}.mask" for n in self.dropout_names]
        # Eager: a plain module call, the fastest on CPUs. Compiled: the functional loss,
        # with the masks as inputs of the graph.
        self._compiled = None
        if self.compile_mode != "off":
            self._compiled = numerics.compiled(self._loss_function(self.module), self.compile_mode)
            # the module's own tensors, gathered once: only the masks change per step
            self._params = dict(self.module.named_parameters())
            self._buffers = {n: b for n, b in self.module.named_buffers() if n not in self._mask_keys}

    def parameters(self):
        return list(self.module.parameters())

    def _stack(self, bufs):
        return bufs[0]

    def _train_mode(self):
        self.module.train()

    def _losses(self, images, labels, masks):
        x = model_input(images[0], self.dtype)
        if self._compiled is not None:
            buffers = {**self._buffers, **{k: m[0] for k, m in zip(self._mask_keys, masks)}}
            return self._compiled(self._params, buffers, x, labels[0]).reshape(1)
        for module, mask in zip(self._mask_modules, masks):
            module.mask = mask[0]
        with self.autocast():
            logits = self.module(x)
        return per_sample_loss(self.settings.loss, logits.to(self.dtype), labels[0]).mean().reshape(1)

    def model(self, k):
        assert k == 0
        return self.module

    def flat_params(self, k):
        return torch.cat([p.detach().reshape(-1) for p in self.module.parameters()])

    def state_dict(self):
        return {"model": self.module.state_dict(), "momentum": self.momentum()}

    def load_state_dict(self, state):
        self.module.load_state_dict(state["model"])
        self._set_momentum(state["momentum"])


class Stacked(Trainer):
    """K models as stacked tensors, the forward pass vmapped over them (GPUs)."""

    def __init__(self, models, runs, settings, schedule):
        self.template = models[0]
        params, buffers = stack_module_state(models)
        self.params = {n: p.detach().clone().requires_grad_() for n, p in params.items()}
        masks = {f"{n}.mask" for n, m in self.template.named_modules() if isinstance(m, MaskedDropout)}
        self.buffers = {n: b for n, b in buffers.items() if n not in masks}
        self.dtype = next(iter(self.params.values())).dtype
        super().__init__(models, runs, settings, schedule)
        self._mask_keys = [f"{n}.mask" for n in self.dropout_names]
        self._scratch = None
        self._loss_template = numerics.vmap_template(self.template, settings.precision)
        self._forward = numerics.compiled(vmap(self._loss_function(self._loss_template)), self.compile_mode)

    def parameters(self):
        return list(self.params.values())

    def _stack(self, bufs):
        return torch.stack(bufs)

    def _train_mode(self):
        self._loss_template.train()

    def _losses(self, images, labels, masks):
        buffers = {**self.buffers, **dict(zip(self._mask_keys, masks))}
        return self._forward(self.params, buffers, normalize(images, self.dtype), labels)

    def model(self, k):
        """Model k as a module (a scratch copy of the template, for evaluation)."""
        if self._scratch is None:
            self._scratch = copy.deepcopy(self.template)
        with torch.no_grad():
            for name, p in self._scratch.named_parameters():
                p.copy_(self.params[name][k])
            for name, b in self._scratch.named_buffers():
                if name in self.buffers:
                    b.copy_(self.buffers[name][k])
        return self._scratch

    def flat_params(self, k):
        return torch.cat([p[k].detach().reshape(-1) for p in self.params.values()])

    def state_dict(self):
        return {
            "params": {n: p.detach() for n, p in self.params.items()},
            "buffers": self.buffers,
            "momentum": self.momentum(),
        }

    def load_state_dict(self, state):
        with torch.no_grad():
            for name, p in self.params.items():
                p.copy_(state["params"][name])
            for name, b in self.buffers.items():
                b.copy_(state["buffers"][name])
        self._set_momentum(state["momentum"])
