"""Loss and accuracy at many grid points per forward pass.

The weights of G grid points, theta_p = mean + coef_p @ basis, are built on the device and
evaluated together with torch.func.functional_call under vmap (G = ``points_per_pass``);
``evaluate_weights`` does the same at given flat weights (the snapshots themselves);
G = 1 skips vmap, which is faster on CPUs where grouped convolutions are slow. Data stay on
the device as uint8 and are normalized per batch. Eval mode throughout (no dropout). The
network runs with the exact rewrites of nn.fast_eval: max-pool before ReLU, convolutions on
2x2 maps as one matrix product and pooling as elementwise maxima. The normalized inputs are
computed once per evaluate() call when they fit in CACHE_INPUT_BYTES, and shared by all its
grid points.

BatchNorm statistics at a grid point (``bn_stats``):
- "recompute": running statistics recomputed from scratch by one pass over the training
  images (train-mode BatchNorm, cumulative average over batches, as
  torch.optim.swa_utils.update_bn), then evaluation with them;
- "batch": every evaluation batch is normalized with its own statistics.
"""

from dataclasses import replace

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from ..names import EVAL_METRICS
from ..nn.fast_eval import for_evaluation, unroll_bias, unroll_weight
from ..nn.data import normalize
from ..nn.losses import per_sample_loss

BN_STATS = ("recompute", "batch")
CACHE_INPUT_BYTES = 1 << 30  # 55,000 CIFAR images in float32 take 676 MB
# points_per_pass "auto": vmap over weights pays where the device is under-filled by one
# network (GPUs); on CPUs grouped convolutions are slower than one point at a time.
AUTO_POINTS_PER_PASS = {"cpu": 1, "cuda": 8}
PRECISIONS = {"float32": torch.float32, "tf32": torch.float32, "bfloat16": torch.bfloat16, "float64": torch.float64}


def batchnorms(model):
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


class GridEvaluator:
    """Evaluate ``model`` at theta = mean + coef @ basis for rows of coefficients."""

    def __init__(self, model, mean, basis, spec, device):
        if spec.bn_stats not in BN_STATS:
            raise ValueError(f"landscape.bn_stats = {spec.bn_stats!r}; choose one of {BN_STATS}")
        self.spec, self.device = spec, torch.device(device)
        if spec.points_per_pass == "auto":
            self.spec = replace(spec, points_per_pass=AUTO_POINTS_PER_PASS.get(self.device.type, 1))
        self.dtype = PRECISIONS[spec.precision]
        if spec.precision == "tf32":
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        self.model = model.to(self.device, self.dtype).eval()
        self.bns = batchnorms(self.model)
        if spec.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.names = [n for n, _ in self.model.named_parameters()]
        self.shapes = [p.shape for _, p in self.model.named_parameters()]
        # Exact rewrites (nn.fast_eval, after the parameter layout is read); Conv2x2 weights
        # are unrolled once per grid point.
        self.conv2x2 = for_evaluation(self.model)
        self.mean = torch.as_tensor(mean).to(self.device, self.dtype)
        self.basis = torch.as_tensor(basis).to(self.device, self.dtype)
        if self.mean.numel() != sum(s.numel() for s in self.shapes):
            raise ValueError(f"PCA has {self.mean.numel()} parameters, the model {sum(s.numel() for s in self.shapes)}")
        self.buffers = {n: b for n, b in self.model.named_buffers()}
        self._vmapped = vmap(self._forward, in_dims=(0, 0, None), randomness="same")

    @property
    def bn_mode(self):
        return self.spec.bn_stats if self.bns else "none"

    def _forward(self, params, buffers, x):
        return functional_call(self.model, (params, buffers), (x,))

    def point_weights(self, coefs):
        """Flat weights theta = mean + coefs @ basis [G, D] for coefficient rows [G, m]."""
        coefs = torch.as_tensor(coefs).to(self.device, self.dtype)
        return self.mean + coefs @ self.basis[: coefs.shape[1]]

    def _weights(self, coefs):
        """Stacked parameter dict {name: [G, *shape]} of the evaluation network."""
        return self._split(self.point_weights(coefs))

    def _split(self, theta):
        """Stacked parameter dict {name: [G, *shape]} from flat weights [G, D]."""
        out, start = {}, 0
        for name, shape in zip(self.names, self.shapes):
            out[name] = theta[:, start : start + shape.numel()].view(len(theta), *shape)
            start += shape.numel()
        for name in self.conv2x2:
            out[f"{name}.weight"] = unroll_weight(out[f"{name}.weight"])
            out[f"{name}.bias"] = unroll_bias(out[f"{name}.bias"])
        return out

    def _inputs(self, images):
        x = normalize(images, self.dtype)
        return x.contiguous(memory_format=torch.channels_last) if self.spec.channels_last else x

    def _batches(self, images):
        """A function giving the normalized input batches of ``images``: computed once and
        kept when they fit in CACHE_INPUT_BYTES, else anew on each call."""
        starts = range(0, len(images), self.spec.batch_size)

        def make():
            return (self._inputs(images[s : s + self.spec.batch_size]) for s in starts)

        if images.numel() * self.dtype.itemsize > CACHE_INPUT_BYTES:
            return make
        kept = list(make())
        return lambda: kept

    def _logits(self, params, buffers, x):
        if len(next(iter(params.values()))) == 1:
            one = {k: v[0] for k, v in params.items()}
            return self._forward(one, {k: v[0] for k, v in buffers.items()}, x).unsqueeze(0)
        return self._vmapped(params, buffers, x)

    def _stacked_buffers(self, g):
        return {k: b.unsqueeze(0).expand(g, *b.shape).clone() for k, b in self.buffers.items()}

    def _set_bn(self, training, momentum=None, track=True):
        for m in self.bns:
            m.train(training)
            m.momentum, m.track_running_stats = momentum, track

    def _recompute_bn(self, params, buffers, batches):
        """Running statistics from a pass over ``images``: cumulative average of batch stats.

        A Python-float momentum 1/t per batch t gives the cumulative average without the
        tensor-valued counter that vmap cannot turn into a float."""
        for k, b in buffers.items():
            if k.endswith("running_mean") or k.endswith("num_batches_tracked"):
                b.zero_()
            elif k.endswith("running_var"):
                b.fill_(1)
        for t, x in enumerate(batches(), start=1):
            self._set_bn(True, momentum=1.0 / t)
            self._logits(params, buffers, x)
        self._set_bn(False, momentum=0.1)

    @torch.no_grad()
    def _metrics(self, params, buffers, batches, labels):
        g, bs = len(next(iter(params.values()))), self.spec.batch_size
        loss = torch.zeros(g, dtype=torch.float64, device=self.device)
        hits = torch.zeros(g, dtype=torch.int64, device=self.device)
        for i, x in enumerate(batches()):
            logits = self._logits(params, buffers, x)
            logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
            y = labels[i * bs : (i + 1) * bs]
            flat, ys = logits.reshape(-1, logits.shape[-1]), y.repeat(g)
            loss += per_sample_loss(self.spec.loss, flat, ys).view(g, -1).sum(1, dtype=torch.float64)
            hits += (flat.argmax(-1) == ys).view(g, -1).sum(1)
        return loss / len(labels), hits.double() / len(labels)

    @torch.no_grad()
    def evaluate(self, coefs, train, test):
        """Dict of float64 arrays [P] (train/test loss and accuracy) for coefficient rows [P, m];
        ``train`` and ``test`` are (uint8 images, labels) on the device."""
        coefs = np.asarray(coefs, np.float64)
        return self._evaluate(len(coefs), lambda rows: self._weights(coefs[rows]), train, test)

    @torch.no_grad()
    def evaluate_weights(self, weights, train, test):
        """Like ``evaluate``, at the flat weights [P, D] themselves (e.g. the snapshots, which
        lie off the PCA surface), in the evaluator's precision."""
        if weights.shape[1] != self.mean.numel():
            raise ValueError(f"weights have {weights.shape[1]} parameters, the model {self.mean.numel()}")
        return self._evaluate(
            len(weights), lambda rows: self._split(weights[rows].to(self.device, self.dtype)), train, test
        )

    def _evaluate(self, n, params_of, train, test):
        """Metrics of ``n`` points, ``points_per_pass`` at a time; ``params_of(rows)`` gives the
        stacked parameter dict of the points in the slice ``rows``."""
        out = {k: np.zeros(n) for k in EVAL_METRICS}
        step = self.spec.points_per_pass
        inputs = {"train": (self._batches(train[0]), train[1]), "test": (self._batches(test[0]), test[1])}
        for start in range(0, n, step):
            rows = slice(start, min(start + step, n))
            params = params_of(rows)
            buffers = self._stacked_buffers(rows.stop - rows.start)
            if self.bns and self.spec.bn_stats == "recompute":
                self._recompute_bn(params, buffers, inputs["train"][0])
            if self.bns and self.spec.bn_stats == "batch":
                self._set_bn(True, track=False)
            for name, (batches, labels) in inputs.items():
                loss, acc = self._metrics(params, buffers, batches, labels)
                out[f"{name}_loss"][rows], out[f"{name}_acc"][rows] = loss.cpu().numpy(), acc.cpu().numpy()
            self._set_bn(False, momentum=0.1)
        return out
