"""Fig. 1, its summary table and verdict, from synthetic metrics.json files that follow the engine's contract."""

import csv
import json
import logging
import math

import numpy as np
import pytest
import yaml

from dag import planned_jobs
from conftest import REPO, run_snakemake
from latedecay import stats
from latedecay.io import save_csv, save_json
from latedecay.plots import style
from latedecay.plots.fig1 import cell_edges, heatmap_grid, make_figure, rolling_mean
from latedecay.plots.fig1_summary import (
    COLUMNS,
    MetricsError,
    Settings,
    analyze,
    load_main_path,
    load_runs,
    load_subpath,
    per_seed_rows,
    split_seed_major,
)

SEGMENT, MAIN_EPOCHS, SUB_EPOCHS, EVAL_EVERY = 20, 60, 30, 5
DECAYS = [0, 20, 40, 60]
OPTIONS = {"final_window": 3, "smooth_epochs": 10, "heatmap_train": "batch", "log_color": False}
LABELS = {"main_lr": 0.1, "sub_lr": 0.01, "arch": "vgg_small", "loss": "mse", "eval_set": "train_all"}
SETTINGS = Settings.from_params(OPTIONS, {**LABELS, "eval_limit": 1000})


def flat_main(epoch):
    return 0.3


def late_decay_helps(decay, epoch):
    return 0.2 - 0.0005 * decay


def metrics(name, decay, start, end, rng, test_loss):
    """One metrics.json dict: ``test_loss(epoch)`` + noise, evaluations every EVAL_EVERY epochs (and at 0)."""
    ev = [e for e in range(start, end + 1) if e % EVAL_EVERY == 0 and (e > start or end == 0)]
    noise = lambda n: (0.01 * rng.random(n)).tolist()  # noqa: E731
    return {
        "path": name,
        "decay_epoch": decay,
        "start_epoch": start,
        "end_epoch": end,
        "epochs": list(range(start + 1, end + 1)),
        "train_batch_loss": [0.15 + x for x in noise(end - start)],
        "eval": {
            "epoch": ev,
            "train_loss": [0.1 + x for x in noise(len(ev))],
            "train_acc": [0.9 + x for x in noise(len(ev))],
            "test_loss": [test_loss(e) + x for e, x in zip(ev, noise(len(ev)))],
            "test_acc": [0.5 + x for x in noise(len(ev))],
        },
        "images_per_s": 1000.0,
        "device": "cpu",
    }


def synthetic_run(root, seeds=(7,), main=flat_main, sub=late_decay_helps, decays=DECAYS):
    """Metrics files under ``root`` (results/seed<S>/...); returns seed-major (main files, sub
    files, raw sub dicts per seed)."""
    main_files, sub_files, raw = [], [], {}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        base = root / "results" / f"seed{seed}"
        for e in range(0, MAIN_EPOCHS + 1, SEGMENT):
            path = base / f"main/epoch{e}/metrics.json"
            save_json(metrics("main", None, max(e - SEGMENT, 0), e, rng, main), path)
            main_files.append(path)
        raw[seed] = [metrics(f"decay{d}", d, 0, SUB_EPOCHS, rng, lambda e, d=d: sub(d, e)) for d in decays]
        for d, m in zip(decays, raw[seed]):
            save_json(m, base / f"sub/decay{d}/metrics.json")
            sub_files.append(base / f"sub/decay{d}/metrics.json")
    return main_files, sub_files, raw


def loaded(root, seeds=(7,), **kw):
    main, sub, raw = synthetic_run(root, seeds, **kw)
    return load_runs(main, sub, list(seeds), kw.get("decays", DECAYS)), raw


def mean(values):
    return sum(values) / len(values)


def test_rolling_mean_and_cell_edges_closed_form():
    assert rolling_mean([1, 2, 3, 4, 5, 6], 3) == pytest.approx([1, 1.5, 2, 3, 4, 5])
    assert rolling_mean([4.0, 2.0], 1) == pytest.approx([4, 2])
    assert cell_edges([0, 20, 40, 60]) == pytest.approx([-10, 10, 30, 50, 70])
    assert cell_edges([5, 10, 20]) == pytest.approx([2.5, 7.5, 15, 25])
    assert cell_edges([7]) == pytest.approx([6.5, 7.5])


def test_main_path_segments_join_in_order(tmp_path):
    main, _, _ = synthetic_run(tmp_path)
    ev, batch = load_main_path(list(reversed(main)))  # input order within a seed must not matter
    assert batch["epoch"].tolist() == list(range(1, MAIN_EPOCHS + 1))
    assert ev["epoch"].tolist() == list(range(0, MAIN_EPOCHS + 1, EVAL_EVERY))
    first = json.loads(main[1].read_text())
    assert batch["train_batch_loss"][:SEGMENT].tolist() == first["train_batch_loss"]


def test_seed_major_lists_split_by_seed(tmp_path):
    main, sub, _ = synthetic_run(tmp_path, seeds=(3, 11))
    groups = split_seed_major(sub, [3, 11])
    assert [s for s, _ in groups] == [3, 11] and [len(f) for _, f in groups] == [4, 4]
    assert all("seed11" in str(p) for p in groups[1][1])
    with pytest.raises(MetricsError, match="listed under seed 3"):
        split_seed_major(sub[4:] + sub[:4], [3, 11])  # the order the rules promise was broken
    with pytest.raises(MetricsError, match="do not split over 2 seeds"):
        split_seed_major(main[:-1], [3, 11])
    runs = load_runs(main, sub, [3, 11], DECAYS)
    assert runs.sub_eval.groupby("seed").size().to_dict() == {3: 4 * 6, 11: 4 * 6}
    assert sorted(runs.main_batch["seed"].unique()) == [3, 11]


def test_summary_rows_match_hand_computed_means(tmp_path):
    seeds = (1, 2, 3)
    runs, raw = loaded(tmp_path, seeds)
    table, _ = analyze(runs, SETTINGS)
    rows = per_seed_rows(table)
    assert len(rows) == 3 * 4 and list(table.columns) == list(COLUMNS)
    for (_, row), (seed, decay) in zip(rows.iterrows(), [(s, d) for s in seeds for d in DECAYS]):
        ev = raw[seed][DECAYS.index(decay)]["eval"]
        assert (row["seed"], row["decay_epoch"]) == (seed, decay)
        for key in ("train_loss", "train_acc", "test_loss", "test_acc"):
            assert row[key] == pytest.approx(mean(ev[key][-3:]), rel=1e-12)
        assert (row["window_start_epoch"], row["window_end_epoch"], row["n_evals"]) == (20, 30, 3)
    pooled = table[table["seed"] == "mean"].set_index("decay_epoch")
    lows = table[table["seed"] == "ci95_low"].set_index("decay_epoch")
    for decay in DECAYS:
        finals = rows.loc[rows["decay_epoch"] == decay, "test_loss"].to_numpy()
        assert pooled.loc[decay, "test_loss"] == pytest.approx(finals.mean())
        assert lows.loc[decay, "test_loss"] == pytest.approx(stats.mean_ci(finals)[1][0])
        assert pooled.loc[decay, "n_seeds"] == 3


def test_gain_vs_main_compares_after_as_many_epochs(tmp_path):
    runs, raw = loaded(tmp_path)
    table, verdict = analyze(runs, SETTINGS)
    rows = per_seed_rows(table).set_index("decay_epoch")
    main = runs.main_eval
    for decay in DECAYS:
        target = decay + SUB_EPOCHS
        expect = main.loc[main["epoch"] <= target, "test_loss"].tail(3).mean()  # smoothed like the subpaths
        assert rows.loc[decay, "main_epoch"] == target
        assert rows.loc[decay, "main_test_loss"] == pytest.approx(expect)
        assert rows.loc[decay, "gain_vs_main"] == pytest.approx(rows.loc[decay, "test_loss"] - expect)
        assert bool(rows.loc[decay, "main_truncated"]) == (target > MAIN_EPOCHS)
    assert rows.loc[60, "main_window_end_epoch"] == MAIN_EPOCHS  # the main path's last smoothed value
    assert verdict["gain_main_truncated"] == [40, 60]
    assert verdict["gain_vs_main"] == pytest.approx(rows["gain_vs_main"].mean())


def write_outputs(runs, tmp_path):
    table, verdict = analyze(runs, SETTINGS)
    save_csv(table, tmp_path / "fig1_summary.csv")
    save_json(verdict, tmp_path / "fig1_verdict.json")
    with open(tmp_path / "fig1_summary.csv") as fh:
        rows = list(csv.DictReader(fh))

    def no_nan(token):
        raise AssertionError(f"{token} in the verdict JSON")

    return rows, json.loads((tmp_path / "fig1_verdict.json").read_text(), parse_constant=no_nan)


def test_files_a_user_opens_three_seeds_plateau_and_later_decay_helps(tmp_path):
    rows, verdict = write_outputs(loaded(tmp_path, (1, 2, 3))[0], tmp_path)
    assert list(rows[0]) == list(COLUMNS)
    assert [r["seed"] for r in rows[12:15]] == ["mean", "ci95_low", "ci95_high"]
    assert rows[13]["window_start_epoch"] == "" and rows[12]["window_start_epoch"] == "20"
    assert verdict["n_seeds"] == 3 and verdict["plateau"] is True and verdict["later_decay"] == "helps"
    assert verdict["spearman_rho"] == pytest.approx(-1) and verdict["spearman_p"] == pytest.approx(2 / 24)
    assert verdict["spearman_p_method"] == "exact: all 24 pairings"
    lo, hi = verdict["slope_vs_decay_ci95"]
    assert lo < verdict["slope_vs_decay"] < hi < 0 and verdict["slope_vs_decay"] == pytest.approx(-5e-4, rel=0.1)
    assert verdict["main_slope_ci95"][0] < 0 < verdict["main_slope_ci95"][1]
    assert verdict["verdict"].startswith("plateau regime: later decay helps")
    for key in ("spearman_rho_acc", "spearman_p_acc", "slope_vs_decay_acc", "gain_vs_main_acc", "main_slope_acc"):
        assert key in verdict


def test_one_seed_verdict_and_nulls(tmp_path):
    rows, verdict = write_outputs(loaded(tmp_path)[0], tmp_path)
    assert [r["seed"] for r in rows] == ["7"] * 4 + ["mean", "ci95_low", "ci95_high"] * 4
    assert rows[5]["test_loss"] == ""  # no interval with one seed
    assert verdict["slope_vs_decay_ci95"] is None and verdict["gain_vs_main_ci95"] is None
    assert "need >= 2 seeds, got 1" in verdict["ci95_reason"]
    # 4 decay epochs: the exact test's smallest two-sided p is 2/24, never below 0.05.
    assert verdict["later_decay"] is None
    assert "this run cannot tell whether later decay helps" in verdict["verdict"]


def test_one_seed_six_decays_decides_by_the_exact_test(tmp_path):
    decays = [0, 10, 20, 30, 40, 50]
    _, verdict = write_outputs(loaded(tmp_path, decays=decays)[0], tmp_path)
    assert verdict["spearman_p"] == pytest.approx(2 / 720) and verdict["later_decay"] == "helps"
    assert "exact p = 0.0028" in verdict["verdict"]


def test_main_path_still_improving_is_not_a_plateau(tmp_path):
    def falling(epoch):
        return 0.3 - 0.002 * epoch

    runs, _ = loaded(tmp_path, (1, 2, 3), main=falling, sub=lambda d, e: falling(d + SUB_EPOCHS) - 0.01)
    _, verdict = write_outputs(runs, tmp_path)
    assert verdict["plateau"] is False and verdict["main_slope_ci95"][1] < 0
    assert verdict["main_slope"] == pytest.approx(-0.002, rel=0.1)
    assert verdict["verdict"].startswith("not in the plateau regime: the main path is still improving")
    assert verdict["verdict"].endswith("this run cannot test the paper's claim")


def test_plateau_where_later_decay_does_not_help(tmp_path):
    runs, _ = loaded(tmp_path, (1, 2, 3), sub=lambda d, e: 0.2)
    _, verdict = write_outputs(runs, tmp_path)
    assert verdict["plateau"] is True and verdict["later_decay"] == "does not help"
    assert verdict["verdict"].startswith("plateau regime: later decay does not help")


def test_spearman_closed_form_through_the_files(tmp_path):
    # Final test losses rank 3, 4, 2, 1 against decay ranks 1..4: rho = 1 - 6*18 / (4*15) = -0.8.
    bases = dict(zip(DECAYS, [0.19, 0.20, 0.18, 0.17]))
    runs, _ = loaded(tmp_path, sub=lambda d, e: bases[d])
    _, verdict = analyze(runs, SETTINGS)
    assert verdict["spearman_rho"] == pytest.approx(-0.8)
    assert verdict["spearman_p"] == pytest.approx(stats.spearman_test(DECAYS, [0.19, 0.20, 0.18, 0.17]).p)


def test_window_longer_than_the_logs_averages_all_with_a_warning(tmp_path, caplog):
    runs, raw = loaded(tmp_path)
    with caplog.at_level(logging.WARNING, logger="latedecay"):
        table, _ = analyze(runs, Settings.from_params({**OPTIONS, "final_window": 100}))
    assert table["test_loss"].iloc[0] == pytest.approx(mean(raw[7][0]["eval"]["test_loss"]))
    assert table["n_evals"].iloc[0] == len(raw[7][0]["eval"]["epoch"])
    assert "fewer than fig1.final_window" in caplog.text


def test_subpath_without_evaluations_is_named(tmp_path):
    _, sub, _ = synthetic_run(tmp_path)
    m = json.loads(sub[3].read_text())
    m["eval"] = {k: [] for k in m["eval"]}
    sub[3].write_text(json.dumps(m))
    with pytest.raises(MetricsError, match="no evaluation logs") as err:
        load_subpath(sub[3], 60)
    assert str(sub[3]) in str(err.value)


def test_heatmap_grid_is_the_seed_mean(tmp_path):
    runs, raw = loaded(tmp_path, (1, 2))
    x, y, z = heatmap_grid(runs, "test_loss", smooth=1)
    assert y.tolist() == DECAYS and x.tolist() == [5, 10, 15, 20, 25, 30]
    both = [raw[s][2]["eval"]["test_loss"] for s in (1, 2)]
    assert z[2] == pytest.approx(np.mean(both, axis=0))
    x, _, z = heatmap_grid(runs, "batch", smooth=4)
    assert x.tolist() == list(range(1, SUB_EPOCHS + 1))
    smoothed = [rolling_mean(raw[s][1]["train_batch_loss"], 4) for s in (1, 2)]
    assert z[1] == pytest.approx(np.mean(smoothed, axis=0))


def test_ragged_subpaths_pad_with_nan(tmp_path):
    runs, _ = loaded(tmp_path)
    short = runs.sub_eval[(runs.sub_eval["decay_epoch"] > 0) | (runs.sub_eval["epoch"] <= 15)]
    _, _, z = heatmap_grid(type(runs)(**{**runs.__dict__, "sub_eval": short}), "test_loss", smooth=1)
    assert np.isnan(z[0, 3:]).all() and np.isfinite(z[1:]).all()


@pytest.mark.parametrize("seeds", [(7,), (1, 2, 3)])
@pytest.mark.parametrize("log_color,heatmap_train", [(True, "batch"), (False, "eval")])
def test_figure_is_a_real_pdf(tmp_path, seeds, log_color, heatmap_train):
    runs, _ = loaded(tmp_path, seeds)
    settings = Settings.from_params({**OPTIONS, "log_color": log_color, "heatmap_train": heatmap_train}, {
        **LABELS, "eval_limit": 1000})  # fmt: skip
    table, verdict = analyze(runs, settings)
    fig = make_figure(runs, table, verdict, settings)
    norm_b, norm_c = (ax.collections[0].norm for ax in fig.axes[2:4])
    assert type(norm_c).__name__ == ("LogNorm" if log_color else "Normalize")
    test_map = fig.axes[3].collections[0].get_array()
    assert (norm_c.vmin, norm_c.vmax) == (test_map.min(), test_map.max())  # (c) spans its own range
    title = fig.get_suptitle()
    assert "main path LR 0.1; subpaths LR 0.01" in title and "first 1000 images" in title
    assert f"{len(seeds)} seed" in title and "Verdict: plateau regime" in title
    bands = [c for c in fig.axes[0].collections if type(c).__name__ == "FillBetweenPolyCollection"]
    assert bool(bands) == (len(seeds) > 1)  # a band over seeds, none with one seed
    labels = [t.get_text() for t in fig.axes[4].get_legend().get_texts()]
    assert labels == ["subpath, final", "main path, same epoch"]
    out = tmp_path / "fig1.pdf"
    style.save(fig, out)
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 10_000


def test_no_subpaths_still_gives_figure_table_and_verdict(tmp_path):
    main, _, _ = synthetic_run(tmp_path, decays=[])
    runs = load_runs(main, [], [7], [])
    settings = Settings.from_params(OPTIONS, {**LABELS, "loss": "cross_entropy", "eval_limit": None})
    table, verdict = analyze(runs, settings)
    style.save(make_figure(runs, table, verdict, settings), tmp_path / "fig1.pdf")
    assert (tmp_path / "fig1.pdf").read_bytes().startswith(b"%PDF")
    rows, verdict = write_outputs(runs, tmp_path)
    assert rows == [] and (tmp_path / "fig1_summary.csv").read_text().splitlines() == [",".join(COLUMNS)]
    assert verdict["plateau"] is None and verdict["verdict"].startswith("cannot test the paper's claim")


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


@pytest.mark.parametrize("damage,message", [
    (lambda p: p.unlink(), "missing input file"),
    (corrupt, "not valid JSON"),
    (drop_eval_key, "'eval' lacks 'test_loss'"),
    (short_batch_loss, "differ in length"),
])  # fmt: skip
def test_bad_metrics_file_is_named(tmp_path, damage, message):
    main, sub, _ = synthetic_run(tmp_path)
    damage(main[2])
    with pytest.raises((MetricsError, FileNotFoundError, RuntimeError), match=message) as err:
        load_main_path(main)
    assert str(main[2]) in str(err.value)
    damage(sub[1])
    with pytest.raises((MetricsError, FileNotFoundError, RuntimeError), match=message) as err:
        load_runs(main[:2], sub, [7], DECAYS)
    assert str(sub[1]) in str(err.value)


def test_wrong_or_missing_segment_is_named(tmp_path):
    main, sub, _ = synthetic_run(tmp_path)
    with pytest.raises(MetricsError, match="starts at epoch 40, previous segment ended at 20") as err:
        load_main_path([main[0], main[1], main[3]])
    assert str(main[3]) in str(err.value)
    with pytest.raises(MetricsError, match="'path' is 'decay20', expected 'decay40'") as err:
        load_subpath(sub[1], 40)
    assert str(sub[1]) in str(err.value)
    with pytest.raises(MetricsError, match="3 files for 1 seeds x 4 decay epochs"):
        load_runs(main, sub[:3], [7], DECAYS)


def test_settings_come_from_one_dict():
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    settings = Settings.from_params(cfg["fig1"])
    assert settings.final_window == cfg["fig1"]["final_window"] and settings.arch is None
    with pytest.raises(TypeError):
        Settings.from_params({**cfg["fig1"], "typo": 1})


def test_rules_build_figure_table_and_verdict_from_metrics(tmp_path):
    """The two Snakemake rules, run on metrics files laid out as today's training rules write them."""
    synthetic_run(tmp_path)
    override = {
        "main": {"epochs": MAIN_EPOCHS, "segment_epochs": SEGMENT},
        "subpath": {"epochs": SUB_EPOCHS, "decay_epochs": DECAYS},
        "fig1": {"final_window": 3},
    }
    (tmp_path / "fig1.yaml").write_text(yaml.safe_dump(override))
    targets = ["figures/fig1.pdf", "results/fig1_summary.csv", "results/fig1_verdict.json"]
    run_snakemake(
        *targets, "-c1", "--directory", tmp_path, "--configfile", tmp_path / "fig1.yaml",
        "--allowed-rules", "fig1", "fig1_summary",
    )  # fmt: skip
    assert (tmp_path / targets[0]).read_bytes().startswith(b"%PDF")
    rows = list(csv.DictReader((tmp_path / targets[1]).open()))
    assert [int(r["decay_epoch"]) for r in rows[:4]] == DECAYS and {r["seed"] for r in rows[:4]} == {"7"}
    assert {r["n_evals"] for r in rows[:4]} == {"3"}  # fig1.final_window reached the script through params
    verdict = json.loads((tmp_path / targets[2]).read_text())
    assert verdict["n_seeds"] == 1 and verdict["seeds"] == [7]
    assert verdict["spearman_rho"] == pytest.approx(-1) and not math.isnan(verdict["spearman_p"])
    log = (tmp_path / "logs/fig1_summary/fig1_summary.log").read_text()
    assert "1 seeds x 4 subpaths; Spearman rho(decay epoch, final test loss) = -1.0" in log
    assert "verdict: plateau regime" in log


def test_fig1_target_plans_only_its_own_inputs():
    """`snakemake figures/fig1.pdf` trains the main path and every subpath, and nothing of Fig. 2-4."""
    counts = planned_jobs("figures/fig1.pdf")
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    assert counts["fig1"] == 1 and "fig1_summary" not in counts
    assert counts["train_subpath"] == len(cfg["subpath"]["decay_epochs"])
    assert not [
        rule for rule in counts if any(w in rule for w in ("landscape", "toy", "fig2", "fig3", "fig4"))
    ]
