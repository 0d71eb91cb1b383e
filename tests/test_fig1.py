"""Fig. 1's loader, summary table, figure and rules, on synthetic metrics.json files written
through the metrics contract (tests/fig1_data.py). The verdict's statistics: test_fig1_verdict.py."""

import csv
import json
import logging
import os
import random
import re
import subprocess
import sys
from dataclasses import asdict, replace

import numpy as np
import pytest
import yaml

import fig1_data as fd
from conftest import REPO, run_snakemake
from dag import planned_jobs
from latedecay import metrics, stats
from latedecay.fig1_panels import Settings, effect_line, figure_data, heatmap_grid, rolling_mean
from latedecay.fig1_runs import load_runs
from latedecay.fig1_table import COLUMNS, per_seed_rows, read_table, summary_table
from latedecay.io import save_csv, save_json
from latedecay.metrics import MetricsError
from latedecay.plots import style
from latedecay.plots.fig1 import cell_edges, make_figure, titles
from latedecay.verdict import analyze

DECAYS = list(fd.DECAYS)
OPTIONS = {"final_window": fd.K, "smooth_epochs": 10, "heatmap_train": "batch", "log_color": False}
LABELS = {"main_lr": 0.1, "sub_lr": 0.01, "arch": "vgg_small", "loss": "mse", "eval_set": "train_all"}
SETTINGS = Settings.from_params(OPTIONS, {**LABELS, "eval_limit": 1000})


def later_helps(decay, epoch):
    return 0.3 - 0.0005 * decay + 0 * epoch


def written(root, seeds=(7,), **kw):
    """Files of a synthetic run under ``root`` and the records they hold."""
    recs = fd.records(seeds, **kw)
    return fd.write(recs, root), recs


def loaded(root, seeds=(7,), decays=DECAYS, **kw):
    files, recs = written(root, seeds, decays=decays, **kw)
    return load_runs(files, list(seeds), decays), recs


def test_rolling_mean_and_cell_edges_closed_form():
    assert rolling_mean([1, 2, 3, 4, 5, 6], 3) == pytest.approx([1, 1.5, 2, 3, 4, 5])
    assert rolling_mean([4.0, 2.0], 1) == pytest.approx([4, 2])
    assert cell_edges([0, 20, 40, 60]) == pytest.approx([-10, 10, 30, 50, 70])
    assert cell_edges([5, 10, 20]) == pytest.approx([2.5, 7.5, 15, 25])
    assert cell_edges([7]) == pytest.approx([6.5, 7.5])


def test_contract_round_trip_and_what_it_refuses(tmp_path):
    m = fd.records()[1][0]  # main-path epochs 1-20
    metrics.save(m, tmp_path / "m.json")
    assert metrics.load(tmp_path / "m.json") == m
    data = asdict(m)
    for change, message in [
        ({"seed": "7"}, "'seed' is not of type"),
        ({"lr": True}, "'lr' is not of type"),
        ({"typo": 1}, "unknown field(s) typo"),
        ({"eval": {**data["eval"], "extra": []}}, "unknown field(s) eval.extra"),
        ({"path": "decay5"}, "'decay_epoch' is None, its run 'decay5' says 5"),
        ({"epochs": data["epochs"][:-1]}, "'epochs' is not"),
    ]:
        with pytest.raises(MetricsError, match=re.escape(message)):
            metrics.from_json({**data, **change}, "here")
    with pytest.raises(MetricsError, match="missing field"):
        metrics.from_json({k: v for k, v in data.items() if k != "seed"}, "here")
    with pytest.raises(MetricsError, match="'eval.test_loss' and 'eval.epoch' differ"):
        metrics.save(replace(m, eval=replace(m.eval, test_loss=[0.1])), tmp_path / "bad.json")  # the writer checks too


def test_main_path_segments_join_in_order(tmp_path):
    files, recs = written(tmp_path)
    random.Random(0).shuffle(files)  # neither file order nor names decide: the records' own fields do
    runs = load_runs(files, [7], DECAYS)
    assert runs.main_batch["epoch"].tolist() == list(range(1, fd.MAIN_EPOCHS + 1))
    assert runs.main_eval["epoch"].tolist() == list(range(0, fd.MAIN_EPOCHS + 1, fd.EVAL_EVERY))
    assert runs.main_batch["train_batch_loss"][: fd.SEGMENT].tolist() == recs[1][0].train_batch_loss


def test_files_group_by_their_own_seed_and_run(tmp_path):
    files, recs = written(tmp_path, seeds=(3, 11))
    runs = load_runs(list(reversed(files)), [3, 11], DECAYS)
    assert runs.sub_eval.groupby("seed").size().to_dict() == {3: 4 * 6, 11: 4 * 6}
    first = runs.sub_eval[(runs.sub_eval["seed"] == 11) & (runs.sub_eval["decay_epoch"] == 20)]
    sub = next(m for m, w in recs if (m.seed, m.path) == (11, "decay20"))
    assert first["test_loss"].tolist() == sub.eval.test_loss
    subs = [f for f in files if "sub" in str(f)]
    with pytest.raises(MetricsError, match="no metrics file for run decay60 of seed 11"):
        load_runs([f for f in files if f != subs[-1]], [3, 11], DECAYS)
    with pytest.raises(MetricsError, match="2 files .* for run decay0 of seed 3"):
        load_runs(files + [subs[0]], [3, 11], DECAYS)
    with pytest.raises(MetricsError, match="seed 11 is not one of the configured seeds"):
        load_runs(files, [3], DECAYS)


def test_summary_rows_match_hand_computed_means(tmp_path):
    seeds = (1, 2, 3)
    runs, recs = loaded(tmp_path, seeds)
    table = summary_table(runs, fd.K)
    rows = per_seed_rows(table)
    assert len(rows) == 3 * 4 and list(table.columns) == list(COLUMNS)
    subs = {(m.seed, m.decay_epoch): m for m, _ in recs if m.decay_epoch is not None}
    for _, row in rows.iterrows():
        ev = subs[row["seed"], row["decay_epoch"]].eval
        for key in ("train_loss", "train_acc", "test_loss", "test_acc"):
            assert row[key] == pytest.approx(np.mean(getattr(ev, key)[-3:]), rel=1e-12)
        assert (row["window_start_epoch"], row["window_end_epoch"], row["n_evals"]) == (20, 30, 3)
    pooled = table[table["seed"] == "mean"].set_index("decay_epoch")
    lows = table[table["seed"] == "ci95_low"].set_index("decay_epoch")
    for decay in DECAYS:
        finals = rows.loc[rows["decay_epoch"] == decay, "test_loss"].to_numpy()
        assert pooled.loc[decay, "test_loss"] == pytest.approx(finals.mean())
        assert lows.loc[decay, "test_loss"] == pytest.approx(stats.mean_ci(finals)[1][0])
        assert pooled.loc[decay, "n_seeds"] == 3


def test_gain_vs_main_compares_the_same_epochs_and_truncated_rows_have_none(tmp_path):
    runs, _ = loaded(tmp_path, main_epochs=60)  # decays 40, 60 would need the main path to 70, 90
    rows = per_seed_rows(summary_table(runs, fd.K)).set_index("decay_epoch")
    main = runs.main_eval
    for decay in (0, 20):
        target = decay + fd.SUB_EPOCHS
        expect = main.loc[main["epoch"] <= target, "test_loss"].tail(3).mean()  # smoothed like the subpaths
        assert rows.loc[decay, "main_epoch"] == target and not rows.loc[decay, "main_truncated"]
        assert rows.loc[decay, "main_test_loss"] == pytest.approx(expect)
        assert rows.loc[decay, "gain_vs_main"] == pytest.approx(rows.loc[decay, "test_loss"] - expect)
    for decay in (40, 60):
        assert rows.loc[decay, "main_truncated"]
        assert rows.loc[decay, ["main_test_loss", "gain_vs_main", "gain_vs_main_acc"]].isna().all()


def write_outputs(runs, tmp_path):
    table, verdict = analyze(runs, fd.K, fd.MARGINS)
    save_csv(table, tmp_path / "fig1_summary.csv")
    save_json(verdict, tmp_path / "fig1_verdict.json")
    with open(tmp_path / "fig1_summary.csv") as fh:
        rows = list(csv.DictReader(fh))

    def no_nan(token):
        raise AssertionError(f"{token} in the verdict JSON")

    return rows, json.loads((tmp_path / "fig1_verdict.json").read_text(), parse_constant=no_nan)


def test_files_a_user_opens(tmp_path):
    runs, _ = loaded(tmp_path, (1, 2, 3), sub=later_helps, noise=0.001)
    rows, verdict = write_outputs(runs, tmp_path)
    assert list(rows[0]) == list(COLUMNS)
    assert [r["seed"] for r in rows[12:15]] == ["mean", "ci95_low", "ci95_high"]
    assert rows[13]["window_start_epoch"] == "" and rows[12]["window_start_epoch"] == "20"
    table = read_table(tmp_path / "fig1_summary.csv")  # what the fig1 rule draws
    assert table["decay_epoch"].tolist() == [int(r["decay_epoch"]) for r in rows]
    assert table["test_loss"].to_numpy() == pytest.approx([float(r["test_loss"]) for r in rows])
    assert verdict["n_seeds"] == 3 and verdict["later_decay"] == "helps"
    assert verdict["spearman_rho"] == pytest.approx(-1) and verdict["spearman_p"] == pytest.approx(2 / 24)
    assert verdict["spearman_p_method"] == "exact: all 24 pairings"
    for key in ("gain_slope", "gain_change", "mde", "later_decay", "regime", "verdict_rule", "main_change"):
        assert key in verdict and key.replace("later_decay", "later_decay_acc") in verdict or key == "verdict_rule"
    assert not {"plateau_acc", "main_slope", "main_n_eff", "plateau_rule"} & set(verdict)


def test_window_longer_than_the_logs_averages_all_with_a_warning(tmp_path, caplog):
    runs, recs = loaded(tmp_path)
    with caplog.at_level(logging.WARNING, logger="latedecay"):
        table = summary_table(runs, 100)
    first = next(m for m, _ in recs if m.path == "decay0")
    assert table["test_loss"].iloc[0] == pytest.approx(np.mean(first.eval.test_loss))
    assert table["n_evals"].iloc[0] == len(first.eval.epoch)
    assert "fewer than fig1.final_window" in caplog.text


def test_subpath_without_evaluations_is_named(tmp_path):
    files, recs = written(tmp_path)
    m, _ = recs[-1]
    metrics.save(replace(m, eval=type(m.eval)(**{k: [] for k in asdict(m.eval)})), files[-1])
    with pytest.raises(MetricsError, match="no evaluation logs") as err:
        load_runs(files, [7], DECAYS)
    assert str(files[-1]) in str(err.value)


def test_heatmap_grid_is_the_seed_mean(tmp_path):
    runs, recs = loaded(tmp_path, (1, 2))
    subs = {(m.seed, m.decay_epoch): m for m, _ in recs if m.decay_epoch is not None}
    x, y, z = heatmap_grid(runs, "test_loss", smooth=1)
    assert y.tolist() == DECAYS and x.tolist() == [5, 10, 15, 20, 25, 30]
    assert z[2] == pytest.approx(np.mean([subs[s, 40].eval.test_loss for s in (1, 2)], axis=0))
    x, _, z = heatmap_grid(runs, "batch", smooth=4)
    assert x.tolist() == list(range(1, fd.SUB_EPOCHS + 1))
    smoothed = [rolling_mean(subs[s, 20].train_batch_loss, 4) for s in (1, 2)]
    assert z[1] == pytest.approx(np.mean(smoothed, axis=0))


def test_ragged_subpaths_pad_with_nan(tmp_path):
    runs, _ = loaded(tmp_path)
    short = runs.sub_eval[(runs.sub_eval["decay_epoch"] > 0) | (runs.sub_eval["epoch"] <= 15)]
    _, _, z = heatmap_grid(type(runs)(**{**runs.__dict__, "sub_eval": short}), "test_loss", smooth=1)
    assert np.isnan(z[0, 3:]).all() and np.isfinite(z[1:]).all()


def test_effect_line_pivots_at_the_pooled_gain():
    verdict = {"gain_slope": -1e-3, "gain_slope_ci95": [-2e-3, 0.0], "gain_vs_main": -0.01}
    d, fit, band = effect_line(verdict, [0, 20, 40])
    assert fit == pytest.approx([0.01, -0.01, -0.03])
    # the lines at the CI's ends, -2e-3 and 0 per epoch, through (20, -0.01); low and high edge per point
    assert band[0] == pytest.approx([-0.01, -0.01, -0.05]) and band[1] == pytest.approx([0.03, -0.01, -0.01])
    assert effect_line({"gain_slope": None}, [0, 20]) is None


@pytest.mark.parametrize("seeds", [(7,), (1, 2, 3)])
@pytest.mark.parametrize("log_color,heatmap_train", [(True, "batch"), (False, "eval")])
def test_figure_draws_the_result_files(tmp_path, seeds, log_color, heatmap_train):
    runs, _ = loaded(tmp_path, seeds, sub=later_helps)
    settings = Settings.from_params(
        {**OPTIONS, "log_color": log_color, "heatmap_train": heatmap_train}, {**LABELS, "eval_limit": 1000}
    )
    write_outputs(runs, tmp_path)
    table, verdict = read_table(tmp_path / "fig1_summary.csv"), json.loads((tmp_path / "fig1_verdict.json").read_text())
    verdict["verdict"] = "drawn from the file"  # the figure prints what the file says
    fig = make_figure(figure_data(runs, table, verdict, settings))
    norm_c = fig.axes[3].collections[0].norm
    assert type(norm_c).__name__ == ("LogNorm" if log_color else "Normalize")
    test_map = fig.axes[3].collections[0].get_array()
    assert (norm_c.vmin, norm_c.vmax) == (test_map.min(), test_map.max())  # (c) spans its own range
    title = fig.get_suptitle()
    assert "main path LR 0.1; subpaths LR 0.01" in title and "first 1000 images" in title
    assert f"{len(seeds)} seed" in title and "Verdict: drawn from the file" in title
    bands = [c for c in fig.axes[0].collections if type(c).__name__ == "FillBetweenPolyCollection"]
    assert bool(bands) == (len(seeds) > 1)  # a band over seeds, none with one seed
    labels = [t.get_text() for t in fig.axes[4].get_legend().get_texts()]
    assert labels == ["subpath, final", "main path, same epoch"]
    assert fig.axes[5].get_title().endswith(f"later decay: {verdict['later_decay']}")
    effect = [ln for ln in fig.axes[5].get_lines() if ln.get_label() == "mean slope over seeds"]
    assert effect[0].get_xdata() == pytest.approx(effect_line(verdict, DECAYS)[1])
    out = tmp_path / "fig1.pdf"
    style.save(fig, out)
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 10_000


def test_no_subpaths_still_gives_figure_table_and_verdict(tmp_path):
    runs, _ = loaded(tmp_path, decays=[])
    settings = Settings.from_params(OPTIONS, {**LABELS, "loss": "cross_entropy", "eval_limit": None})
    rows, verdict = write_outputs(runs, tmp_path)
    table = read_table(tmp_path / "fig1_summary.csv")
    style.save(make_figure(figure_data(runs, table, verdict, settings)), tmp_path / "fig1.pdf")
    assert (tmp_path / "fig1.pdf").read_bytes().startswith(b"%PDF")
    assert rows == [] and (tmp_path / "fig1_summary.csv").read_text().splitlines() == [",".join(COLUMNS)]
    assert verdict["later_decay"] == "inconclusive" and verdict["regime"] == "unclear"


def corrupt(path):
    path.write_text('{"path": "main", "start_ep')


def drop_eval_key(path):
    m = json.loads(path.read_text())
    del m["eval"]["test_loss"]
    path.write_text(json.dumps(m))


def short_batch_loss(path):
    m = json.loads(path.read_text())
    m["train_batch_loss"].pop()
    path.write_text(json.dumps(m))


@pytest.mark.parametrize(
    "damage,message",
    [
        (lambda p: p.unlink(), "missing input file"),
        (corrupt, "not valid JSON"),
        (drop_eval_key, "missing field.s. eval.test_loss"),
        (short_batch_loss, "differ in length"),
    ],
)
def test_bad_metrics_file_is_named(tmp_path, damage, message):
    files, _ = written(tmp_path)
    for victim in (files[2], files[-2]):  # a main-path segment, a subpath
        damage(victim)
        with pytest.raises((MetricsError, FileNotFoundError, RuntimeError), match=message) as err:
            load_runs(files, [7], DECAYS)
        assert str(victim) in str(err.value)
        written(tmp_path)


def test_wrong_or_missing_segment_is_named(tmp_path):
    files, _ = written(tmp_path)
    main = [f for f in files if "main" in str(f)]
    with pytest.raises(
        MetricsError, match="run main .seed 7. starts at epoch 40, its previous segment ended at 20"
    ) as err:  # noqa: E501
        load_runs([f for f in files if f != main[2]], [7], DECAYS)
    assert str(main[3]) in str(err.value)
    with pytest.raises(MetricsError, match="no metrics file of seed 7"):
        load_runs([f for f in files if f not in main], [7], DECAYS)
    with pytest.raises(MetricsError, match="decay epoch 60 is not one of"):
        load_runs(files, [7], DECAYS[:3])


def test_figure_numbers_load_no_drawing():
    """fig1_panels is science: importing it loads neither latedecay.plots nor matplotlib or seaborn."""
    probe = "import sys, latedecay.fig1_panels; print(' '.join(sys.modules))"
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow" / "scripts")}
    loaded = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    drawing = [
        m for m in loaded.stdout.split() if m.split(".")[0] in ("matplotlib", "seaborn") or m == "latedecay.plots"
    ]
    assert drawing == []


def test_settings_come_from_one_dict():
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    settings = Settings.from_params(cfg["fig1"])
    assert settings.final_window == cfg["fig1"]["final_window"] and settings.arch is None
    with pytest.raises(TypeError):
        Settings.from_params({**cfg["fig1"], "typo": 1})


def test_rules_build_table_and_verdict_then_the_figure_from_them(tmp_path):
    """The two Snakemake rules, on metrics files laid out as the training rules write them."""
    written(tmp_path, sub=later_helps)
    override = {
        "main": {"epochs": fd.MAIN_EPOCHS, "segment_epochs": fd.SEGMENT},
        "subpath": {"epochs": fd.SUB_EPOCHS, "decay_epochs": DECAYS},
        "fig1": {"final_window": fd.K},
        "verdict": {"margin": 0.004},
    }
    (tmp_path / "fig1.yaml").write_text(yaml.safe_dump(override))
    targets = ["figures/fig1.pdf", "results/fig1_summary.csv", "results/fig1_verdict.json"]
    run_snakemake(
        *targets,
        "-c1",
        "--directory",
        tmp_path,
        "--configfile",
        tmp_path / "fig1.yaml",
        "--allowed-rules",
        "fig1",
        "fig1_summary",
    )
    assert (tmp_path / targets[0]).read_bytes().startswith(b"%PDF")
    rows = list(csv.DictReader((tmp_path / targets[1]).open()))
    assert [int(r["decay_epoch"]) for r in rows[:4]] == DECAYS and {r["seed"] for r in rows[:4]} == {"7"}
    assert {r["n_evals"] for r in rows[:4]} == {"3"}  # fig1.final_window reached the script through params
    verdict = json.loads((tmp_path / targets[2]).read_text())
    assert verdict["n_seeds"] == 1 and verdict["seeds"] == [7] and verdict["margin"] == 0.004  # verdict.margin too
    assert verdict["later_decay"] == "inconclusive" and verdict["later_decay_reason"].startswith("1 seed")
    log = (tmp_path / "logs/fig1_summary/fig1_summary.log").read_text()
    assert "1 seeds x 4 subpaths; later decay (test loss): inconclusive" in log
    assert f"verdict: {verdict['verdict']}" in (tmp_path / "logs/fig1/fig1.log").read_text()


def test_fig1_target_plans_only_its_own_inputs():
    """`snakemake figures/fig1.pdf` trains the main path and every subpath, tabulates them,
    and plans nothing of Fig. 2-4."""
    counts = planned_jobs("figures/fig1.pdf")
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    assert counts["fig1"] == 1 and counts["fig1_summary"] == 1  # the figure draws the two result files
    assert counts["train_subpath"] == len(cfg["subpath"]["decay_epochs"])
    assert not [rule for rule in counts if any(w in rule for w in ("landscape", "toy", "fig2", "fig3", "fig4"))]


def test_title_names_a_gradual_decay_and_only_then():
    step = titles(SETTINGS, 3)[0].splitlines()[0]
    assert step == "VGG-11 (authors' small, no BN) on CIFAR-10; main path LR 0.1; subpaths LR 0.01; 3 seeds"
    ramp = titles(replace(SETTINGS, sub_ramp_epochs=20), 3)[0].splitlines()[0]
    assert (
        ramp
        == "VGG-11 (authors' small, no BN) on CIFAR-10; main path LR 0.1; subpaths LR 0.01 (linear from 0.1 over 20 epochs); 3 seeds"
    )
