"""Batched crop/flip: equal to torchvision's transforms, uniform over a large batch."""

import numpy as np
import torch
import torchvision.transforms.functional as TF
from scipy.stats import chisquare

from latedecay.nn.augment import crop_flip, draw
from latedecay.nn.data import Split
from latedecay.nn.engine import new_history, record_eval
from latedecay.nn.models import build_model
from latedecay.nn.schedule import Schedule
from latedecay.nn.trainer import Run, Trainer, epoch_draws
from nn_jobs import settings

MAIN = Run(7, "main")


def epoch_batches(train, run, epoch):
    images, labels, _ = epoch_draws(train, run, epoch, 125, [])
    return images, labels


def test_matches_torchvision_pad_crop_flip():
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8, generator=gen)
    offsets, flips = draw(64, gen)
    out = crop_flip(images, offsets, flips)
    for i in range(64):
        dy, dx = offsets[i].tolist()
        ref = TF.crop(TF.pad(images[i], [4]), dy, dx, 32, 32)  # RandomCrop(32, padding=4)
        ref = TF.hflip(ref) if flips[i] else ref  # then RandomHorizontalFlip
        assert torch.equal(out[i], ref)


def _position_images(n):
    """Channel 0 holds row+1, channel 1 col+1 of each pixel (0 marks zero padding)."""
    ar = torch.arange(1, 33, dtype=torch.uint8)
    img = torch.zeros(3, 32, 32, dtype=torch.uint8)
    img[0] = ar[:, None]
    img[1] = ar[None, :]
    return img.expand(n, 3, 32, 32).contiguous()


def test_epoch_augmentation_is_uniform_per_sample():
    n = 18_000
    train = Split(_position_images(n), torch.zeros(n, dtype=torch.int64))
    images, _ = epoch_batches(train, MAIN, epoch=3)
    centre = images[:, :, 16, 16].long()  # always inside the source image
    dy = centre[:, 0] - 1 - 12  # source row = dy - 4 + 16
    flipped = images[:, 1, 16, 17].long() < centre[:, 1]
    # unflipped: source col = dx + 12; flipped: output col 16 reads padded col dx + 15
    dx = torch.where(flipped, centre[:, 1] - 1 - 11, centre[:, 1] - 1 - 12)
    for values in (dy, dx):
        counts = np.bincount(values.numpy(), minlength=9)
        assert len(counts) == 9 and chisquare(counts).pvalue > 1e-4
    assert chisquare(np.bincount(flipped.numpy().astype(int), minlength=2)).pvalue > 1e-4
    # per sample, not per batch: the offsets vary inside every batch of 125
    assert all(len(set(dy[i : i + 125].tolist())) == 9 for i in range(0, n - 125, 125))
    # crop and flip are drawn independently
    joint = np.bincount((dy * 2 + flipped.long()).numpy(), minlength=18)
    assert chisquare(joint).pvalue > 1e-4


def test_epoch_draws_depend_on_seed_path_and_epoch():
    n = 500
    train = Split(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8), torch.arange(n))
    a, la = epoch_batches(train, MAIN, 5)
    b, lb = epoch_batches(train, MAIN, 5)
    assert torch.equal(a, b) and torch.equal(la, lb)
    assert sorted(la.tolist()) == list(range(n))  # a permutation (500 = 4 x 125, nothing dropped)
    others = [epoch_batches(train, r, e)[1] for r, e in ((MAIN, 6), (Run(7, "decay5"), 5), (Run(8, "main"), 5))]
    assert all(not torch.equal(la, o) for o in others)


def test_eval_augment_reproduces_the_authors_quirk_deterministically():
    torch.manual_seed(0)
    model = build_model("vgg_small")
    gen = torch.Generator().manual_seed(1)
    split = Split(torch.randint(0, 256, (200, 3, 32, 32), dtype=torch.uint8, generator=gen), torch.arange(200) % 10)
    plain, quirk = settings(), settings(eval_augment=True)

    def evaluated(s):
        history = new_history()
        record_eval(history, Trainer.create([model], [MAIN], s, Schedule(0.1)), 0, [split, split], epoch=10)
        return history["eval"]

    a, b, c, d = evaluated(plain), evaluated(plain), evaluated(quirk), evaluated(quirk)
    assert a == b and c == d  # deterministic given (seed, run, epoch)
    assert a["train_loss"] != c["train_loss"]  # crops/flips change the loss
    assert model.training  # evaluation restores train mode
