"""The progress a user can watch: one line per evaluation per training job (main-path
segments and packs alike), epoch N of M of the job, its rate and the time left."""

import logging
import re

import pytest
import torch
from nn_jobs import SEED, segment, settings, subpaths, tiny_main

from latedecay.nn import engine
from latedecay.nn.data import load_sets
from latedecay.nn.models import build_model
from latedecay.nn.progress import Progress, job_name
from latedecay.nn.schedule import Schedule
from latedecay.nn.trainer import Run, Trainer

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_main(tmp_path_factory.mktemp("progress"))


def progress_lines(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "latedecay.nn.progress"]


def heads(lines):
    return [line.split(", ")[0] for line in lines]


def test_the_line_counts_the_jobs_epochs_and_the_time_left():
    ticks = iter([100.0, 130.0])  # 10 epochs in 30 s since this process took over at epoch 110
    progress = Progress("main seed 7", 100, 200, 110, clock=lambda: next(ticks))
    expected = "main seed 7: epoch 20 of 100 (run epoch 120), 3.00 s/epoch, 850 img/s, 0:04:00 left"
    assert progress.line(120, 850.4) == expected


def test_job_names():
    assert job_name([Run(7, "main")]) == "main seed 7"
    assert job_name([Run(7, "decay2"), Run(7, "decay4"), Run(8, "decay4")]) == "3 runs: decay2 seed 7 .. decay4 seed 8"


def test_a_segment_logs_one_line_per_evaluation(tiny, tmp_path, caplog):
    folder, data = tiny
    with caplog.at_level(logging.INFO, logger="latedecay"):
        segment(data, folder / "epoch0", tmp_path / "seg", 4, eval_every=2)  # snapshots every epoch
    lines = progress_lines(caplog)
    assert heads(lines) == ["main seed 7: epoch 2 of 4 (run epoch 2)", "main seed 7: epoch 4 of 4 (run epoch 4)"]
    for line in lines:
        assert re.fullmatch(r".*\), \d+\.\d\d s/epoch, [1-9]\d* img/s, 0:\d\d:\d\d left", line), line
    assert lines[-1].endswith(" 0:00:00 left")


def test_a_pack_logs_one_line_per_evaluation_for_all_its_runs(tiny, tmp_path, caplog):
    folder, data = tiny
    segment(data, folder / "epoch0", tmp_path / "main2", 2, branch_epochs=[1, 2])
    with caplog.at_level(logging.INFO, logger="latedecay"):
        subpaths(
            data, [(SEED, tmp_path / "main2", 1), (SEED, tmp_path / "main2", 2)], [tmp_path / "d1", tmp_path / "d2"], 3
        )
    assert heads(progress_lines(caplog)) == [
        f"2 runs: decay1 seed 7 .. decay2 seed 7: epoch {e} of 3 (run epoch {e})" for e in (1, 2, 3)
    ]


def test_a_resumed_job_counts_from_its_own_start(tiny, caplog):
    """A job 2 -> 5 resumed after epoch 4: its history already holds epochs 3 and 4."""
    _, data = tiny
    sets = load_sets(data["train"], data["eval"], CPU)
    torch.manual_seed(SEED)
    trainer = Trainer.create(
        [engine.place(build_model("vgg_small"), CPU)], [Run(SEED, "main")], settings(), Schedule(0.05)
    )
    history = engine.new_history()
    history["epochs"], history["train_batch_loss"] = [3, 4], [0.1, 0.1]
    with caplog.at_level(logging.INFO, logger="latedecay"):
        engine.run(trainer, sets, range(5, 6), [history])
    assert heads(progress_lines(caplog)) == ["main seed 7: epoch 3 of 3 (run epoch 5)"]
