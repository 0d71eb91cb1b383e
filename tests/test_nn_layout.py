"""Layout invariance: a subpath trains to the same numbers alone, in a pack of any K (also
across seeds), and resumed after SIGKILL, dropout on throughout.

float64 on CPU: alone and packed agree to 1e-10 relative (they differ only in how the
forward pass is batched); a killed and resumed job equals the uninterrupted one bitwise.
The float32 and SLURM cases run through Snakemake (test_nn_workflow.py, test_slurm.py).
"""

import pytest
import torch
from nn_jobs import float64, init, metrics, outputs, segment, subpaths
from test_nn_engine import kill_and_resume
from tiny_cifar import write_tiny_prepared

from latedecay.io import load_torch


def relative_gap(a, b):
    """Largest max|a - b| / max|a| over the tensors of two state dicts."""
    return max(float((a[k] - b[k]).abs().max() / a[k].abs().max().clamp_min(1e-300)) for k in a)


@pytest.fixture(scope="module")
def mains(tmp_path_factory):
    """float64 main paths of seeds 7 and 8 to epoch 2, checkpoints at epochs 1 and 2."""
    folder = tmp_path_factory.mktemp("layout")
    with float64():
        data = write_tiny_prepared(folder)
        for seed in (7, 8):
            init(data, folder / f"s{seed}" / "epoch0", seed=seed)
            segment(data, folder / f"s{seed}" / "epoch0", folder / f"s{seed}" / "epoch1", 1, seed=seed)
            segment(data, folder / f"s{seed}" / "epoch1", folder / f"s{seed}" / "epoch2", 2, seed=seed)
    return folder, data


BRANCHES = [(7, 1), (7, 2), (8, 2)]  # (seed, decay epoch)


def _train(mains, tmp_path, branches, tag, epochs=2, **kwargs):
    folder, data = mains
    with float64():
        return subpaths(
            data,
            [(s, folder / f"s{s}" / f"epoch{d}", d) for s, d in branches],
            [tmp_path / tag / f"s{s}d{d}" for s, d in branches],
            epochs,
            **kwargs,
        )


@pytest.fixture(scope="module")
def alone(mains, tmp_path_factory):
    folder = tmp_path_factory.mktemp("alone")
    return {b: _train(mains, folder, [b], "alone")[0] for b in BRANCHES}


@pytest.mark.parametrize(
    "pack, reset",
    [(BRANCHES[:2], True), (BRANCHES, True), (BRANCHES[1:], False)],
    ids=["K2", "K3-two-seeds", "K2-across-seeds-momentum-kept"],
)
def test_packed_equals_alone_with_dropout(mains, alone, tmp_path, pack, reset):
    separate = alone
    if not reset:
        separate = {b: _train(mains, tmp_path, [b], f"alone-kept-{b}", reset=False)[0] for b in pack}
    packed = _train(mains, tmp_path, pack, "packed", reset=reset)
    for branch, out in zip(pack, packed):
        a, b = load_torch(separate[branch]["checkpoint"]), load_torch(out["checkpoint"])
        assert a["model"]["classifier.0.weight"].dtype == torch.float64
        assert relative_gap(a["model"], b["model"]) < 1e-10, branch
        bufs = [[s["momentum_buffer"] for s in c["optimizer"]["state"].values()] for c in (a, b)]
        assert max(float((x - y).abs().max() / x.abs().max()) for x, y in zip(*bufs)) < 1e-10
        ma, mb = metrics(separate[branch]), metrics(out)
        assert (mb["path"], mb["seed"], mb["epochs"]) == (f"decay{branch[1]}", branch[0], [1, 2])
        assert mb["train_batch_loss"] == pytest.approx(ma["train_batch_loss"], rel=1e-10)
        assert mb["eval"]["test_loss"] == pytest.approx(ma["eval"]["test_loss"], rel=1e-10)
        sa, sb = load_torch(separate[branch]["snapshots"]), load_torch(out["snapshots"])
        assert torch.allclose(sa["params"], sb["params"], rtol=1e-6, atol=0)  # stored as float32


def test_dropout_is_on_and_differs_between_runs(mains, alone):
    """Same start, other seed or label: other masks (and data), so other weights."""
    a, b = (load_torch(alone[br]["checkpoint"])["model"] for br in [(7, 2), (8, 2)])
    assert relative_gap(a, b) > 1e-3


def test_packed_job_killed_and_resumed_equals_uninterrupted(mains, tmp_path):
    """A float32 pack of two subpaths (one job), SIGKILLed after a resume state, then rerun."""
    folder, data = mains
    f32 = tmp_path / "f32"
    init(data, f32 / "epoch0")
    segment(data, f32 / "epoch0", f32 / "epoch1", 1)
    segment(data, f32 / "epoch1", f32 / "epoch2", 2)
    branches = [(7, f32 / f"epoch{d}", d) for d in (1, 2)]
    clean = subpaths(data, branches, [tmp_path / "clean" / f"decay{d}" for d in (1, 2)], 4)
    resume = tmp_path / "resume.pt"
    args = [data["train"], data["eval"], f32, tmp_path / "killed", 4, resume, 1, 2]
    assert 1 <= kill_and_resume(args, resume) < 4
    for d, out in zip((1, 2), clean):
        resumed = outputs(tmp_path / "killed" / f"decay{d}")
        for name in ("checkpoint", "snapshots"):
            assert resumed[name].read_bytes() == out[name].read_bytes(), (d, name)
        assert metrics(resumed)["eval"] == metrics(out)["eval"]


@pytest.fixture(scope="module")
def bn_mains(tmp_path_factory):
    """A float64 vgg11_bn main path to epoch 1 (BatchNorm buffers to stack)."""
    folder = tmp_path_factory.mktemp("bn")
    with float64():
        data = write_tiny_prepared(folder)
        init(data, folder / "s7" / "epoch0", arch="vgg11_bn")
        segment(data, folder / "s7" / "epoch0", folder / "s7" / "epoch1", 1, lr=0.001, arch="vgg11_bn")
    return folder, data


def test_batchnorm_pack_equals_alone(bn_mains, tmp_path):
    """Running statistics stack per model: the second of a pack equals it trained alone."""
    pack = [(7, 0), (7, 1)]
    packed = _train(bn_mains, tmp_path, pack, "packed", epochs=1, lr=0.0005, arch="vgg11_bn")
    (single,) = _train(bn_mains, tmp_path, pack[1:], "alone", epochs=1, lr=0.0005, arch="vgg11_bn")
    a, b = load_torch(single["checkpoint"])["model"], load_torch(packed[1]["checkpoint"])["model"]
    assert "features.1.running_mean" in a and relative_gap(a, b) < 1e-10
    assert metrics(packed[1])["eval"]["test_loss"] == pytest.approx(metrics(single)["eval"]["test_loss"], rel=1e-10)
