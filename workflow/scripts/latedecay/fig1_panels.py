"""The numbers Fig. 1 shows, panel by panel: the main path's curves (a), the subpaths' heat-map
grids (b, c), the final losses (d), the paired effect and its fitted line (e).

plot_fig1.py computes them here with ``figure_data`` and hands the result to
``latedecay.plots.fig1``, which only draws. Curves and grids come from the metrics
(``fig1_runs.Runs``); (d) and (e) reshape results/fig1_summary.csv and fig1_verdict.json as
fig1_summary wrote them, so they show the tables' statistics and compute none of their own.
Curves are seed means with a band spanning the seeds; heat maps show the seed mean.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .fig1_table import per_seed_rows


@dataclass(frozen=True)
class Settings:
    """The fig1 rule's ``params.options`` (config["fig1"]) plus ``params.labels`` (titles).

    One object for both: the analysis reads the options, the drawing the colour scale and labels."""

    final_window: int
    smooth_epochs: int
    heatmap_train: str
    log_color: bool
    main_lr: float | None = None
    sub_lr: float | None = None
    sub_ramp_epochs: int = 0
    arch: str | None = None
    loss: str | None = None
    eval_set: str | None = None
    eval_limit: int | None = None

    @classmethod
    def from_params(cls, options, labels=None):
        return cls(**options, **(labels or {}))


@dataclass(frozen=True)
class FinalLoss:
    """(d) one column of the table: each seed's value, and the seed mean with its 95% interval."""

    seed_values: pd.Series
    seed_decays: pd.Series
    mean: pd.Series  # indexed by decay epoch
    xerr: np.ndarray  # 2 x decay epochs: distances from the mean to the interval's low and high end


@dataclass(frozen=True)
class FigureData:
    """Everything Fig. 1 draws; the verdict and settings for its text."""

    settings: Settings
    verdict: dict
    n_seeds: int
    decay_epochs: tuple  # branch points marked on (a)'s epoch axis
    band: tuple | None  # seaborn errorbar over seeds
    raw_batch: pd.Series  # (a) unsmoothed seed-mean mini-batch loss per epoch
    curves: pd.DataFrame  # (a) seed, epoch, curve, loss
    accuracy: pd.DataFrame  # (a) seed, epoch, set, accuracy
    grids: tuple  # (b), (c): (epochs, decay epochs, seed-mean values) each
    final: dict | None  # (d) FinalLoss per column; None without subpath rows
    gains: pd.DataFrame | None  # (e) per-seed table rows at the verdict's decay epochs; seed as a label
    effect: tuple | None  # (e) ``effect_line``


def rolling_mean(values, window):
    """Trailing rolling mean; the first ``window - 1`` points average what exists so far."""
    return pd.Series(values, dtype=float).rolling(window, min_periods=1).mean().to_numpy()


def smoothed(batch, window, by):
    """``batch`` with its train_batch_loss replaced by the trailing rolling mean within each ``by`` group."""
    loss = batch.groupby(by, sort=False)["train_batch_loss"].transform(lambda v: rolling_mean(v, window))
    return batch.assign(train_batch_loss=loss)


def heatmap_grid(runs, quantity, smooth):
    """Seed-mean grid: rows = decay epochs, columns = epochs after the decay; NaN where a row has no value.

    ``quantity`` is "batch" (smoothed mini-batch loss) or an evaluation metric.
    """
    if quantity == "batch":
        frame, quantity = smoothed(runs.sub_batch, smooth, ["seed", "decay_epoch"]), "train_batch_loss"
    else:
        frame = runs.sub_eval
    grid = frame.pivot_table(index="decay_epoch", columns="epoch", values=quantity, aggfunc="mean", dropna=False)
    return grid.columns.to_numpy(), grid.index.to_numpy(), grid.to_numpy(dtype=float)


def seed_band(runs):
    """seaborn errorbar over seeds: their full range (none with one seed)."""
    return ("pi", 100) if len(runs.seeds) > 1 else None


def main_curves(runs, smooth):
    """Tidy frame (seed, epoch, curve, loss) of panel (a)."""
    batch = smoothed(runs.main_batch, smooth, "seed").rename(columns={"train_batch_loss": "loss"})
    ev = runs.main_eval
    parts = [
        batch.assign(curve=f"train, mini-batch (rolling mean {smooth} ep.)"),
        ev.rename(columns={"train_loss": "loss"}).assign(curve="train, full pass"),
        ev.rename(columns={"test_loss": "loss"}).assign(curve="test, full pass"),
    ]
    return pd.concat([p[["seed", "epoch", "curve", "loss"]] for p in parts], ignore_index=True)


def main_accuracy(runs):
    """Tidy frame (seed, epoch, set, accuracy) of (a)'s accuracy strip; ``set`` is train or test."""
    acc = runs.main_eval.melt(["seed", "epoch"], ["train_acc", "test_acc"], var_name="set", value_name="accuracy")
    acc["set"] = acc["set"].str.removesuffix("_acc")
    return acc


def final_losses(table):
    """(d) the subpaths' final test loss and the main path's after as many epochs; None for an empty table."""
    if table.empty:
        return None
    rows, pooled = per_seed_rows(table), table.set_index(["seed", "decay_epoch"])
    out = {}
    for column in ("test_loss", "main_test_loss"):
        mean = pooled.loc["mean", column]
        ends = [pooled.loc[mark, column].reindex(mean.index) for mark in ("ci95_low", "ci95_high")]
        out[column] = FinalLoss(rows[column], rows["decay_epoch"], mean, np.abs(np.vstack(ends) - mean.to_numpy()))
    return out


def seed_gains(table, decays):
    """(e) each seed's gain at the decay epochs the verdict fits (numeric, seed as a label); None if none."""
    rows = per_seed_rows(table)
    rows = rows[rows["decay_epoch"].isin(decays)]
    return None if rows.empty else rows.astype({"gain_vs_main": float, "decay_epoch": float, "seed": str})


def effect_line(verdict, decays):
    """(e)'s line and band: the seed-mean gain fit (through the pooled gain at the mean decay
    epoch) with the slope's 95% interval; None where the verdict has no slope."""
    slope, ci = verdict.get("gain_slope"), verdict.get("gain_slope_ci95") or [None, None]
    if slope is None or not decays:
        return None
    d = np.asarray(decays, dtype=float)
    centre = d - d.mean()
    at = lambda b: verdict["gain_vs_main"] + b * centre  # noqa: E731
    band = None if None in ci else np.sort(np.vstack([at(ci[0]), at(ci[1])]), axis=0)
    return d, at(slope), band


def figure_data(runs, table, verdict, settings):
    """Fig. 1's numbers from ``Runs``, the summary table and verdict fig1_summary wrote, and ``Settings``."""
    smooth = settings.smooth_epochs
    train_quantity = "batch" if settings.heatmap_train == "batch" else "train_loss"
    decays = verdict.get("gain_decay_epochs") or []
    return FigureData(
        settings=settings,
        verdict=verdict,
        n_seeds=len(runs.seeds),
        decay_epochs=tuple(runs.decay_epochs),
        band=seed_band(runs),
        raw_batch=runs.main_batch.groupby("epoch")["train_batch_loss"].mean(),
        curves=main_curves(runs, smooth),
        accuracy=main_accuracy(runs),
        grids=tuple(heatmap_grid(runs, q, smooth) for q in (train_quantity, "test_loss")),
        final=final_losses(table),
        gains=seed_gains(table, decays),
        effect=effect_line(verdict, decays),
    )
