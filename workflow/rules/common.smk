import sys
from pathlib import Path

# The science package lives beside the entry scripts; rules use it for
# config checks and for planning (segment epochs, chunk counts).
sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

from latedecay import config_checks  # noqa: E402

# Schema (defaults filled in) and cross-key checks; errors name the key and its file:line.
config_checks.validate_config(
    config,
    f"{workflow.basedir}/workflow/schemas/config.schema.yaml",
    workflow.configfiles,
)


wildcard_constraints:
    epoch=r"\d+",
    decay=r"\d+",
    chunk=r"\d+",


def get_final_outputs():
    return [
        "figures/fig1.pdf",
        "results/fig1_summary.csv",
        "figures/fig2.pdf",
        "figures/fig3.pdf",
        "figures/fig4.pdf",
        "figures/toy_theory.pdf",
        "results/toy/summary.csv",
    ]


# ---------------------------------------------------------------- toy helpers

from latedecay.toy import settings as toy_settings  # noqa: E402


def toy_experiment_pattern():
    """Closed alternation of the configured toy experiment names."""
    return "|".join(sorted(config["toy"]["experiments"]))


def toy_sim_settings(wildcards):
    """One experiment's merged SGD settings, pruned to the keys it reads."""
    return toy_settings.effective(config["toy"], wildcards.experiment)


def toy_theory_sims():
    """Simulations read by the theory checks (every experiment but Fig. 4's)."""
    names = [e for e in config["toy"]["experiments"] if e != "fig4"]
    return expand("results/toy/sim/{experiment}.npz", experiment=names)


# ---------------------------------------------------------------- nn helpers


def main_segment_ends():
    """Epochs at which main-path segments end (0 = the initial checkpoint)."""
    seg, total = config["main"]["segment_epochs"], config["main"]["epochs"]
    ends = list(range(0, total + 1, seg))
    return ends if ends[-1] == total else ends + [total]


def main_outputs(name):
    """One file per main-path segment: checkpoint.pt, metrics.json or snapshots.pt."""
    return expand(
        "results/main/epoch{epoch}/{name}", epoch=main_segment_ends(), name=name
    )


def main_segment_start(wildcards):
    """Checkpoint a main-path segment starts from: the previous segment end."""
    ends, epoch = main_segment_ends(), int(wildcards.epoch)
    if epoch not in ends[1:]:
        raise ValueError(
            f"main-path epoch {epoch} is not a segment end ({ends[:3]}...)"
        )
    return f"results/main/epoch{ends[ends.index(epoch) - 1]}/checkpoint.pt"


def nn_train_params():
    """Settings shared by every training job, key-sorted (params are compared by repr).

    Neither main.epochs nor main.lr is in here, so longer main paths only add segments.
    """
    t, m = config["train"], config["model"]
    keys = ["seed", "batch_size", "momentum", "weight_decay", "eval_every"]
    keys += ["snapshot_every", "resume_every", "device", "threads"]
    values = {k: t[k] for k in keys}
    values.update(arch=m["arch"], loss=m["loss"])
    values.update(eval_augment=config["data"]["eval_augment"])
    return dict(sorted(values.items()))


def subpath_packs():
    """Decay epochs trained together when subpath.pack > 1 (config order)."""
    decays, size = config["subpath"]["decay_epochs"], config["subpath"]["pack"]
    return [decays[i : i + size] for i in range(0, len(decays), size)]


def subpath_outputs(name):
    """One file per subpath (decay epoch): checkpoint.pt, metrics.json or snapshots.pt."""
    return expand(
        "results/sub/decay{decay}/{name}",
        decay=config["subpath"]["decay_epochs"],
        name=name,
    )


# ---------------------------------------------------------------- landscape helpers


def _key_sorted(value):
    """Nested dicts with sorted keys: params are compared by their repr."""
    if isinstance(value, dict):
        return {k: _key_sorted(value[k]) for k in sorted(value)}
    return value


def landscape_subpaths():
    """Decay epochs of the subpaths in the landscape PCA and Fig. 2 (landscape.subpaths)."""
    chosen = config["landscape"]["subpaths"]
    return sorted(config["subpath"]["decay_epochs"] if chosen == "all" else chosen)


def landscape_subpath_snapshots():
    return expand("results/sub/decay{decay}/snapshots.pt", decay=landscape_subpaths())


def landscape_chunk_files():
    return expand(
        "results/landscape/chunks/chunk{chunk}.npz",
        chunk=range(config["landscape"]["chunks"]),
    )


def landscape_grid_params():
    """The grid: extent, both axes, margin, square (what shapes the grid), key-sorted."""
    return _key_sorted(config["landscape"]["grid"])


def landscape_eval_params():
    """How a chunk evaluates its points (GridEvaluator settings), key-sorted."""
    land = config["landscape"]
    keys = ["batch_size", "bn_stats", "channels_last", "points_per_pass", "precision"]
    return {k: land[k] for k in keys}


def landscape_image_params():
    """The image subsets of the train and test surfaces."""
    land = config["landscape"]
    return {
        "seed": land["image_seed"],
        "test": land["test_images"],
        "train": land["train_images"],
    }
