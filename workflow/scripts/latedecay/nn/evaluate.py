"""Full-pass evaluation (eval mode): mean per-sample loss and accuracy, kept on the device."""

import contextlib

import torch

from .augment import crop_flip, draw
from .data import model_input
from .losses import correct, per_sample_loss

# Images per forward pass: large on GPUs, where a 5k-50k evaluation set is a few passes.
EVAL_BATCH = {"cpu": 1000, "cuda": 10000}


@torch.no_grad()
def evaluate(
    model, split, loss_name, augment_generator=None, batch=None, forward=None, autocast=contextlib.nullcontext
):
    """(mean loss, accuracy) as 0-d device tensors; no host sync.

    ``augment_generator`` reproduces the authors' crop/flip at evaluation (data.eval_augment);
    ``forward`` is ``model`` compiled, when it is; ``autocast`` the precision's context.
    """
    was_training = model.training
    model.eval()
    forward = model if forward is None else forward
    dtype = next(model.parameters()).dtype
    images = split.images
    batch = batch or EVAL_BATCH.get(images.device.type, 1000)
    if augment_generator is not None:
        images = crop_flip(images, *draw(len(images), augment_generator))
    loss_sum = torch.zeros((), dtype=torch.float64, device=images.device)
    hits = torch.zeros((), dtype=torch.int64, device=images.device)
    for start in range(0, len(images), batch):
        with autocast():
            logits = forward(model_input(images[start : start + batch], dtype))
        logits = logits.to(dtype)  # the loss in the weights' precision (bf16 autocast: fp32)
        labels = split.labels[start : start + batch]
        loss_sum += per_sample_loss(loss_name, logits, labels).sum(dtype=torch.float64)
        hits += correct(logits, labels)
    model.train(was_training)
    return loss_sum / len(images), hits.double() / len(images)
