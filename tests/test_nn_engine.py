"""The training engine: bitwise segment continuity, branch states inside segments,
kill-and-resume, momentum reset, every cadence, byte-identical outputs, the divergence guard."""

import pytest
import torch
from nn_jobs import (
    SEED,
    assert_state_equal,
    kill_and_resume,
    main_outputs,
    metrics,
    outputs,
    same_checkpoint,
    segment,
    settings,
    subpaths,
    tiny_main,
)

from latedecay.io import load_torch
from latedecay.nn import engine
from latedecay.nn.data import load_sets
from latedecay.nn.models import build_model
from latedecay.nn.schedule import Schedule
from latedecay.nn.trainer import Run, Trainer


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_main(tmp_path_factory.mktemp("engine"))


@pytest.fixture(scope="module")
def straight(tiny):
    """Epochs 0 -> 4 in one job."""
    folder, data = tiny
    return segment(data, folder / "epoch0", folder / "straight4", 4)


def test_initial_checkpoint_and_metrics(tiny):
    folder, _ = tiny
    out = outputs(folder / "epoch0")
    m = metrics(out)
    assert (m["path"], m["seed"], m["decay_epoch"], m["epochs"]) == ("main", SEED, None, [])
    assert m["eval"]["epoch"] == [0] and 0 < m["eval"]["test_loss"][0] < 1
    snaps = load_torch(out["snapshots"])
    assert snaps["epochs"].tolist() == [0] and snaps["params"].shape == (1, 1_250_634)
    torch.manual_seed(SEED)
    fresh = torch.nn.utils.parameters_to_vector(build_model("vgg_small").parameters())
    assert torch.equal(snaps["params"][0], fresh)  # the seeded init, in parameters() order
    assert load_torch(out["checkpoint"])["seed"] == SEED


def test_segments_are_bitwise_continuous(tiny, straight):
    folder, data = tiny
    first = segment(data, folder / "epoch0", folder / "seg2", 2)
    second = segment(data, folder / "seg2", folder / "seg4", 4)
    same_checkpoint(straight, second)
    one, a, b = metrics(straight), metrics(first), metrics(second)
    assert (b["start_epoch"], b["end_epoch"], b["epochs"]) == (2, 4, [3, 4])
    assert one["train_batch_loss"] == a["train_batch_loss"] + b["train_batch_loss"]
    for key, values in one["eval"].items():
        assert values == a["eval"][key] + b["eval"][key]
    snaps = [load_torch(o["snapshots"]) for o in (straight, first, second)]
    assert snaps[0]["epochs"].tolist() == [1, 2, 3, 4]
    assert torch.equal(snaps[0]["params"], torch.cat([snaps[1]["params"], snaps[2]["params"]]))
    assert one["train_batch_loss"][-1] < one["train_batch_loss"][0]  # it does learn


def test_identical_runs_write_identical_bytes(tiny, straight):
    folder, data = tiny
    again = segment(data, folder / "epoch0", folder / "again4", 4)
    for name in ("checkpoint", "snapshots", "metrics"):  # metrics.json too: no wall-clock field
        assert again[name].read_bytes() == straight[name].read_bytes(), name


def test_branch_states_inside_a_segment_are_the_segment_ends_of_a_split_run(tiny, straight, tmp_path):
    """One job 0 -> 4 keeping epochs 2 and 4 = jobs 0 -> 2 -> 4; its subpaths are the same bitwise."""
    folder, data = tiny
    long = segment(data, folder / "epoch0", tmp_path / "long", 4, branch_epochs=[2, 4])
    first = segment(data, folder / "epoch0", tmp_path / "first", 2)
    for name in ("checkpoint", "snapshots"):
        assert long[name].read_bytes() == straight[name].read_bytes(), name
    states = load_torch(long["branches"])["states"]
    assert [s["epoch"] for s in states] == [2, 4]
    for state, ckpt in zip(states, (first["checkpoint"], straight["checkpoint"])):
        assert_state_equal(state, load_torch(ckpt))
    (from_long,) = subpaths(data, [(SEED, tmp_path / "long", 2)], [tmp_path / "l2"], 1, reset=False)
    (from_end,) = subpaths(data, [(SEED, tmp_path / "first", 2)], [tmp_path / "e2"], 1, reset=False)
    for name in ("checkpoint", "snapshots"):
        assert from_long[name].read_bytes() == from_end[name].read_bytes(), name


def test_init_keeps_epoch_0_as_a_branch_state(tiny):
    folder, _ = tiny
    out = main_outputs(folder / "epoch0")
    (state,) = load_torch(out["branches"])["states"]
    assert_state_equal(state, load_torch(out["checkpoint"]))


def test_sigkill_mid_job_resumes_bitwise(tiny, tmp_path):
    """The subprocess keeps a branch state at every epoch: those from before the kill come
    back from the resume parts."""
    folder, data = tiny
    straight = segment(data, folder / "epoch0", tmp_path / "straight", 4, branch_epochs=[1, 2, 3, 4])
    resume = tmp_path / "resume.pt"
    killed_at = kill_and_resume(
        [data["train"], data["eval"], folder / "epoch0", tmp_path / "killed", 4, resume], resume
    )
    assert 1 <= killed_at < 4
    assert not list(tmp_path.glob("resume.part*.pt"))  # the parts too
    resumed = main_outputs(tmp_path / "killed")
    for name in ("checkpoint", "snapshots", "branches"):
        assert resumed[name].read_bytes() == straight[name].read_bytes(), name
    assert metrics(resumed)["train_batch_loss"] == metrics(straight)["train_batch_loss"]
    assert metrics(resumed)["eval"] == metrics(straight)["eval"]


@pytest.mark.parametrize("reset", [True, False])
def test_subpath_momentum_reset_or_kept(tiny, straight, reset, tmp_path):
    folder, data = tiny
    (sub,) = subpaths(data, [(SEED, folder / "straight4", 4)], [tmp_path / "sub"], 1, reset=reset)
    m = metrics(sub)
    assert (m["path"], m["decay_epoch"], m["start_epoch"], m["end_epoch"], m["epochs"]) == ("decay4", 4, 0, 1, [1])
    # the same epoch by hand: weights from the main checkpoint, momentum zero or carried over
    ckpt = load_torch(straight["checkpoint"])
    model = engine.place(build_model("vgg_small"), torch.device("cpu"))
    model.load_state_dict(ckpt["model"])
    trainer = Trainer.create([model], [Run(SEED, "decay4")], settings(), Schedule(0.01))
    if not reset:
        trainer.load_momentum([ckpt["optimizer"]])
    train, _ = load_sets(data["train"], data["eval"], torch.device("cpu"))
    trainer.train_epoch(train, 1)
    assert_state_equal(load_torch(sub["checkpoint"])["model"], model.state_dict())
    # and the other choice gives different weights
    (other,) = subpaths(data, [(SEED, folder / "straight4", 4)], [tmp_path / "other"], 1, reset=not reset)
    weights = [load_torch(o["checkpoint"])["model"]["features.0.weight"] for o in (sub, other)]
    assert not torch.equal(*weights)


def test_wrong_or_corrupt_start_checkpoint_is_named(tiny, tmp_path):
    folder, data = tiny
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "checkpoint.pt").write_bytes(b"truncated")
    with pytest.raises(RuntimeError, match=str(bad / "checkpoint.pt")):
        segment(data, bad, tmp_path / "out", 2)
    with pytest.raises(
        RuntimeError,
        match=r"epoch0/branches.pt: no main-path state at \(seed, epoch\) \[\(7, 2\)\] \(they hold \[\(7, 0\)\]\)",
    ):
        subpaths(data, [(SEED, folder / "epoch0", 2)], [tmp_path / "out"], 1)
    (bad / "branches.pt").write_bytes(b"truncated")
    with pytest.raises(RuntimeError, match=str(bad / "branches.pt")):
        subpaths(data, [(SEED, bad, 2)], [tmp_path / "out"], 1)
    with pytest.raises(RuntimeError, match="expected seed 8"):
        segment(data, folder / "epoch0", tmp_path / "out", 1, seed=8)
    with pytest.raises(RuntimeError, match="vgg11_bn"):
        segment(data, folder / "epoch0", tmp_path / "out", 1, arch="vgg11_bn")


# (eval_every, snapshot_every, resume_every): dividing the job lengths or not, above them, 1.
CADENCES = [(1, 1, 1), (3, 2, 5), (2, 3, 4), (4, 6, 1), (100, 100, 100)]


@pytest.mark.parametrize("cadence", CADENCES, ids=lambda c: "eval%d-snap%d-resume%d" % c)
def test_every_cadence_records_on_multiples_and_splits_invariantly(tiny, tmp_path, cadence):
    """Main path 0 -> 5 in one job and in segments 0 -> 2 -> 5, then a 5-epoch subpath."""
    folder, data = tiny
    every = dict(zip(("eval_every", "snapshot_every", "resume_every"), cadence))
    whole = segment(data, folder / "epoch0", tmp_path / "whole", 5, **every)
    first = segment(data, folder / "epoch0", tmp_path / "first", 2, **every)
    split = segment(data, tmp_path / "first", tmp_path / "split", 5, **every)
    same_checkpoint(whole, split)
    m = metrics(whole)
    assert m["eval"]["epoch"] == [e for e in range(1, 6) if e % cadence[0] == 0]
    assert metrics(first)["eval"]["epoch"] + metrics(split)["eval"]["epoch"] == m["eval"]["epoch"]
    assert load_torch(whole["snapshots"])["epochs"].tolist() == [e for e in range(1, 6) if e % cadence[1] == 0]
    assert len(m["train_batch_loss"]) == 5
    (sub,) = subpaths(data, [(SEED, tmp_path / "whole", 5)], [tmp_path / "sub"], 5, **every)
    assert metrics(sub)["eval"]["epoch"] == [e for e in range(1, 6) if e % cadence[0] == 0]
    assert load_torch(sub["checkpoint"])["epoch"] == 5


def test_divergence_stops_naming_run_epoch_and_lr(tiny, tmp_path):
    folder, data = tiny
    resume = tmp_path / "resume.pt"
    with pytest.raises(engine.TrainingDiverged, match=r"run main \(seed 7\) diverged: .* at epoch \d+ with lr 10000"):
        segment(data, folder / "epoch0", tmp_path / "nan", 4, resume_file=resume, lr=1e4, eval_every=2)
    assert not any(p.exists() for p in outputs(tmp_path / "nan").values())
    assert not resume.exists()
