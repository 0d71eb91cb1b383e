"""Fig. 1 and its summary table, from synthetic metrics.json files that follow the engine's contract."""

import csv
import json
import logging
import math

import numpy as np
import pytest
import yaml
from scipy import stats

from conftest import REPO, run_snakemake
from latedecay.nn.summary import (
    SUMMARY_COLUMNS,
    MetricsError,
    load_main_path,
    load_subpaths,
    summarize,
    write_summary_csv,
)
from latedecay.plots import style
from latedecay.plots.fig1 import cell_edges, heatmap_grid, make_figure, rolling_mean

SEGMENT, MAIN_EPOCHS, SUB_EPOCHS, EVAL_EVERY = 20, 60, 30, 5
DECAYS = [0, 20, 40, 60]


def metrics(name, decay, start, end, rng, base):
    """One metrics.json dict: losses ``base`` + noise, evaluations every EVAL_EVERY epochs (and at epoch 0)."""
    ev = [e for e in range(start, end + 1) if e % EVAL_EVERY == 0 and (e > start or end == 0)]
    noise = lambda n: (0.01 * rng.random(n)).tolist()  # noqa: E731
    return {
        "path": name,
        "decay_epoch": decay,
        "start_epoch": start,
        "end_epoch": end,
        "epochs": list(range(start + 1, end + 1)),
        "train_batch_loss": [base / 2 + x for x in noise(end - start)],
        "eval": {
            "epoch": ev,
            "train_loss": [base / 3 + x for x in noise(len(ev))],
            "train_acc": [0.9 + x for x in noise(len(ev))],
            "test_loss": [base + x for x in noise(len(ev))],
            "test_acc": [0.5 + x for x in noise(len(ev))],
        },
        "images_per_s": 1000.0,
        "device": "cpu",
    }


def write(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return path


def synthetic_run(root, test_base=lambda decay: 0.2 - 0.0005 * decay):
    """Main path segments and subpaths under ``root`` in the workflow's layout; returns (main, sub, raw subs)."""
    rng = np.random.default_rng(0)
    ends = list(range(0, MAIN_EPOCHS + 1, SEGMENT))
    main = [
        write(
            root / f"results/main/epoch{e}/metrics.json",
            metrics("main", None, max(e - SEGMENT, 0), e, rng, 0.3),
        )
        for e in ends
    ]
    raw = [metrics(f"decay{d}", d, 0, SUB_EPOCHS, rng, test_base(d)) for d in DECAYS]
    sub = [write(root / f"results/sub/decay{d}/metrics.json", m) for d, m in zip(DECAYS, raw)]
    return main, sub, raw


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
    curve = load_main_path(list(reversed(main)))  # input order must not matter
    assert curve["epochs"].tolist() == list(range(1, MAIN_EPOCHS + 1))
    assert curve["eval"]["epoch"].tolist() == list(range(0, MAIN_EPOCHS + 1, EVAL_EVERY))
    first = json.loads(main[1].read_text())
    assert curve["train_batch_loss"][:SEGMENT].tolist() == first["train_batch_loss"]


def test_summary_csv_matches_hand_computed_means(tmp_path):
    _, sub, raw = synthetic_run(tmp_path)
    k = 3
    out = tmp_path / "results/fig1_summary.csv"
    write_summary_csv(summarize(load_subpaths(sub, DECAYS), k), out)
    rows = list(csv.DictReader(out.open()))
    assert [int(r["decay_epoch"]) for r in rows] == DECAYS
    for row, m in zip(rows, raw):
        ev = m["eval"]
        for key in ("train_loss", "train_acc", "test_loss", "test_acc"):
            assert float(row[key]) == pytest.approx(mean(ev[key][-k:]), rel=1e-12)
        assert (int(row["window_start_epoch"]), int(row["window_end_epoch"])) == (20, 30)
        assert int(row["n_evals"]) == k
    finals = [mean(m["eval"]["test_loss"][-k:]) for m in raw]
    ref = stats.spearmanr(DECAYS, finals)
    assert all(float(r["spearman_rho"]) == pytest.approx(ref.statistic) for r in rows)
    assert all(float(r["spearman_pvalue"]) == pytest.approx(ref.pvalue) for r in rows)
    assert ref.statistic == pytest.approx(-1.0)  # losses fall by 0.01 per 20 decay epochs, noise < 0.01


def test_spearman_closed_form(tmp_path):
    # Final test losses rank 3, 4, 2, 1 against decay ranks 1..4: rho = 1 - 6*18 / (4*15) = -0.8.
    bases = dict(zip(DECAYS, [0.19, 0.20, 0.18, 0.17]))
    _, sub, _ = synthetic_run(tmp_path, test_base=bases.get)
    rows = summarize(load_subpaths(sub, DECAYS), 2)
    assert rows[0]["spearman_rho"] == pytest.approx(-0.8)


def test_spearman_nan_below_three_subpaths(tmp_path, caplog):
    _, sub, _ = synthetic_run(tmp_path)
    with caplog.at_level(logging.INFO, logger="latedecay"):
        rows = summarize(load_subpaths(sub[:2], DECAYS[:2]), 3)
    assert math.isnan(rows[0]["spearman_rho"]) and math.isnan(rows[1]["spearman_pvalue"])
    assert "at least 3 subpaths" in caplog.text


def test_window_longer_than_the_logs_averages_all_with_a_warning(tmp_path, caplog):
    _, sub, raw = synthetic_run(tmp_path)
    with caplog.at_level(logging.WARNING, logger="latedecay"):
        rows = summarize(load_subpaths(sub, DECAYS), 100)
    assert rows[0]["test_loss"] == pytest.approx(mean(raw[0]["eval"]["test_loss"]))
    assert rows[0]["n_evals"] == len(raw[0]["eval"]["epoch"])
    assert "fewer than fig1.final_window" in caplog.text


def test_subpath_without_evaluations_is_named(tmp_path):
    _, sub, _ = synthetic_run(tmp_path)
    m = json.loads(sub[3].read_text())
    m["eval"] = {k: [] for k in m["eval"]}
    sub[3].write_text(json.dumps(m))
    with pytest.raises(MetricsError, match="no evaluation logs") as err:
        summarize(load_subpaths(sub, DECAYS), 3)
    assert str(sub[3]) in str(err.value)


def test_heatmap_grid_rows_follow_decay_epochs(tmp_path):
    _, sub, raw = synthetic_run(tmp_path)
    subs = load_subpaths(list(reversed(sub)), list(reversed(DECAYS)))
    x, y, z = heatmap_grid(subs, "test_loss", smooth=1)
    assert y.tolist() == DECAYS and x.tolist() == [5, 10, 15, 20, 25, 30]
    assert z[2].tolist() == raw[2]["eval"]["test_loss"]
    x, _, z = heatmap_grid(subs, "batch", smooth=4)
    assert x.tolist() == list(range(1, SUB_EPOCHS + 1))
    assert z[1] == pytest.approx(rolling_mean(raw[1]["train_batch_loss"], 4))


def test_ragged_subpaths_pad_with_nan(tmp_path):
    _, sub, _ = synthetic_run(tmp_path)
    subs = load_subpaths(sub, DECAYS)
    subs[0]["eval"] = {k: v[:3] for k, v in subs[0]["eval"].items()}
    _, _, z = heatmap_grid(subs, "test_loss", smooth=1)
    assert np.isnan(z[0, 3:]).all() and np.isfinite(z[1:]).all()


@pytest.mark.parametrize("log_color,heatmap_train", [(True, "batch"), (False, "eval")])
def test_figure_is_a_real_pdf(tmp_path, log_color, heatmap_train):
    main, sub, _ = synthetic_run(tmp_path)
    fig = make_figure(
        load_main_path(main), load_subpaths(sub, DECAYS), main_lr=0.1, sub_lr=0.01, arch="vgg_small",
        loss="mse", eval_set="train_all", eval_limit=1000, log_color=log_color, smooth_epochs=10,
        heatmap_train=heatmap_train, final_window=3,
    )  # fmt: skip
    norm = fig.axes[2].collections[0].norm
    assert type(norm).__name__ == ("LogNorm" if log_color else "Normalize")
    assert norm is fig.axes[3].collections[0].norm  # (b) and (c) share one colour scale
    assert "main path LR 0.1; subpaths LR 0.01" in fig.get_suptitle()
    assert "first 1000 images" in fig.get_suptitle()
    out = tmp_path / "fig1.pdf"
    style.save(fig, out)
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 10_000


def test_no_subpaths_still_gives_figure_and_header_only_table(tmp_path):
    main, _, _ = synthetic_run(tmp_path)
    fig = make_figure(
        load_main_path(main), [], main_lr=0.1, sub_lr=0.01, arch="vgg11_bn", loss="cross_entropy",
        eval_set="test", eval_limit=None, log_color=True, smooth_epochs=1, heatmap_train="batch", final_window=3,
    )  # fmt: skip
    style.save(fig, tmp_path / "fig1.pdf")
    assert (tmp_path / "fig1.pdf").read_bytes().startswith(b"%PDF")
    write_summary_csv(summarize([], 3), tmp_path / "summary.csv")
    assert (tmp_path / "summary.csv").read_text().splitlines() == [",".join(SUMMARY_COLUMNS)]


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
        load_subpaths(sub, DECAYS)
    assert str(sub[1]) in str(err.value)


def test_wrong_or_missing_segment_is_named(tmp_path):
    main, sub, _ = synthetic_run(tmp_path)
    with pytest.raises(MetricsError, match="starts at epoch 40, previous segment ended at 20") as err:
        load_main_path([main[0], main[1], main[3]])
    assert str(main[3]) in str(err.value)
    with pytest.raises(MetricsError, match="'path' is 'decay20', expected 'decay40'") as err:
        load_subpaths(sub[1:2], [40])
    assert str(sub[1]) in str(err.value)


def test_rules_build_figure_and_table_from_metrics(tmp_path):
    """The two Snakemake rules, run on metrics files laid out as the engine writes them."""
    synthetic_run(tmp_path)
    override = {
        "main": {"epochs": MAIN_EPOCHS, "segment_epochs": SEGMENT},
        "subpath": {"epochs": SUB_EPOCHS, "decay_epochs": DECAYS},
        "fig1": {"final_window": 3},
    }
    (tmp_path / "fig1.yaml").write_text(yaml.safe_dump(override))
    targets = ["figures/fig1.pdf", "results/fig1_summary.csv"]
    run_snakemake(
        *targets, "-c1", "--directory", tmp_path, "--configfile", tmp_path / "fig1.yaml",
        "--allowed-rules", "fig1", "fig1_summary",
    )  # fmt: skip
    assert (tmp_path / targets[0]).read_bytes().startswith(b"%PDF")
    rows = list(csv.DictReader((tmp_path / targets[1]).open()))
    assert [int(r["decay_epoch"]) for r in rows] == DECAYS
    assert {r["n_evals"] for r in rows} == {"3"}  # fig1.final_window reached the script through params
    assert float(rows[0]["spearman_rho"]) == pytest.approx(-1)
    log = (tmp_path / "logs/fig1_summary/fig1_summary.log").read_text()
    assert "Spearman rho(decay epoch, final test loss) = -1.0000" in log


def test_fig1_target_plans_only_its_own_inputs():
    """`snakemake figures/fig1.pdf` trains the main path and every subpath, and nothing of Fig. 2-4."""
    out = run_snakemake("-n", "figures/fig1.pdf", "-q", "rules").stdout
    table = out[out.index("job ") : out.index("total")]
    counts = dict(line.split() for line in table.splitlines()[2:] if line.strip())
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    assert counts["fig1"] == "1" and "fig1_summary" not in counts
    assert int(counts["train_subpath"]) == len(cfg["subpath"]["decay_epochs"])
    assert not [
        rule for rule in counts if any(w in rule for w in ("landscape", "toy", "fig2", "fig3", "fig4"))
    ]
