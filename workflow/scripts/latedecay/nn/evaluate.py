"""Full-pass evaluation (eval mode): mean per-sample loss and accuracy, kept on the device."""

import torch

from .augment import crop_flip, draw
from .data import model_input
from .losses import correct, per_sample_loss

EVAL_BATCH = 1000


@torch.no_grad()
def evaluate(model, split, loss_name, augment_generator=None, batch=EVAL_BATCH):
    """(mean loss, accuracy) as 0-d device tensors; no host sync.

    ``augment_generator`` reproduces the authors' crop/flip at evaluation (data.eval_augment).
    """
    was_training = model.training
    model.eval()
    dtype = next(model.parameters()).dtype
    images = split.images
    if augment_generator is not None:
        images = crop_flip(images, *draw(len(images), augment_generator))
    loss_sum = torch.zeros((), dtype=torch.float64, device=images.device)
    hits = torch.zeros((), dtype=torch.int64, device=images.device)
    for start in range(0, len(images), batch):
        logits = model(model_input(images[start : start + batch], dtype))
        labels = split.labels[start : start + batch]
        loss_sum += per_sample_loss(loss_name, logits, labels).sum(dtype=torch.float64)
        hits += correct(logits, labels)
    model.train(was_training)
    return loss_sum / len(images), hits.double() / len(images)
