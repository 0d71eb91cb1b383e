"""The paper config plans the whole DAG, in seconds, with the expected job counts."""

import time

import yaml
from dag import planned_jobs

from conftest import REPO


def test_paper_config_plans_every_job(tmp_path):
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    start = time.monotonic()
    jobs = planned_jobs("--directory", tmp_path, cwd=tmp_path)
    assert time.monotonic() - start < 60
    segments = -(-cfg["main"]["epochs"] // cfg["main"]["segment_epochs"])
    expected = {
        "download_cifar": 1,
        "prepare_data": 1,
        "init_main": 1,
        "train_main": segments,
        "train_subpath": len(cfg["subpath"]["decay_epochs"]),
        "fig1": 1,
        "fig1_summary": 1,
        "landscape_pca": 1,
        "landscape_chunk": cfg["landscape"]["chunks"],
        "landscape_paths": 1,
        "landscape_merge": 1,
        "fig2": 1,
        "toy_simulate": len(cfg["toy"]["experiments"]),
        "toy_theory": 1,
        "toy_fig3": 1,
        "toy_fig4": 1,
        "all": 1,
    }
    assert jobs == expected
    assert (segments, expected["train_subpath"]) == (30, 11)  # the paper: 3000 epochs, decays 2000..3000


def test_segments_and_branch_epochs_plan():
    """Branch epochs and the segment holding each: long segments keep states every
    branch_every epochs; a null branch_every keeps the segment ends; init keeps epoch 0."""
    from latedecay.nn import segments

    main = {"epochs": 250, "segment_epochs": 100, "branch_every": 40}
    assert segments.segment_ends(main) == [0, 100, 200, 250]
    # what a segment keeps depends on its start and end only: its end too, whatever main.epochs
    assert [segments.branch_epochs(main, e) for e in (0, 100, 200, 250)] == [
        [0],
        [40, 80, 100],
        [120, 160, 200],
        [240, 250],
    ]
    assert segments.branch_epochs({**main, "epochs": 400}, 200) == [120, 160, 200]
    assert [segments.is_branch_epoch(main, e) for e in (40, 100, 250)] == [True, False, True]
    assert [segments.segment_holding(main, e) for e in (0, 40, 100, 120, 250)] == [0, 100, 100, 200, 250]
    ends = {**main, "branch_every": None}
    assert [segments.branch_epochs(ends, e) for e in (0, 100, 200, 250)] == [[0], [100], [200], [250]]


def test_parameter_counts_for_job_sizing_match_the_models():
    from latedecay.nn import segments
    from latedecay.nn.models import ARCHS, build_model, num_params

    assert segments.PARAMETERS == {arch: num_params(build_model(arch)) for arch in ARCHS}
    # the GPU preset's 3,000-epoch job: 301 snapshots and 31 branch states of vgg_small, twice
    main = {"segment_epochs": 3000, "branch_every": 100}
    assert segments.main_job_mb(main, {"snapshot_every": 10}, "vgg_small") == 6000 + round(5.002536 * 664)
