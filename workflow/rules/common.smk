import sys
from pathlib import Path

# The science package lives beside the entry scripts; rules use it for the config checks
# and for planning (segment epochs, packs, chunk counts, the params of each rule family).
sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

from latedecay.config import validate_config  # noqa: E402
from latedecay.landscape.settings import LandscapeSettings  # noqa: E402
from latedecay.names import run_label  # noqa: E402
from latedecay.nn import segments  # noqa: E402
from latedecay.nn.schedule import Schedule  # noqa: E402
from latedecay.nn.settings import TrainSettings  # noqa: E402
from latedecay.provenance import code_digest  # noqa: E402
from latedecay.snakemake_fixes import fix_list_params_changes  # noqa: E402
from latedecay.toy import settings as toy_settings  # noqa: E402

# --list-changes params would list every job's last output (a Snakemake 9.27.1 bug).
fix_list_params_changes()

# Schema (defaults filled in) and cross-key checks; errors name the key and its file:line.
validate_config(
    config,
    f"{workflow.basedir}/workflow/schemas/config.schema.yaml",
    workflow.configfiles,
)


wildcard_constraints:
    seed=r"\d+",
    epoch=r"\d+",
    decay=r"\d+",
    chunk=r"\d+",


# ---------------------------------------------------------------- file templates
# Each written once; rules and helpers fill them in (a field left as "{x}" stays a wildcard).

DATA = {"train": "results/data/train.pt", "eval": "results/data/eval.pt"}
MAIN_FILE = "results/seed{seed}/main/epoch{epoch}/{name}"
SUBPATH_FILE = "results/seed{seed}/sub/decay{decay}/{name}"
TOY_SIM = "results/toy/sim/{experiment}.npz"


def main_file(name, seed="{seed}", epoch="{epoch}"):
    return MAIN_FILE.format(seed=seed, epoch=epoch, name=name)


def subpath_file(name, seed="{seed}", decay="{decay}"):
    return SUBPATH_FILE.format(seed=seed, decay=decay, name=name)


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


def code(script):
    """Digest of the package code an entry script runs (latedecay.provenance)."""
    return code_digest(str(Path(workflow.basedir) / "workflow" / "scripts"), script)


def _key_sorted(value):
    """Nested dicts with sorted keys: params are compared by their repr."""
    if isinstance(value, dict):
        return {k: _key_sorted(value[k]) for k in sorted(value)}
    return value


# ---------------------------------------------------------------- toy


def toy_experiment_pattern():
    """Closed alternation of the configured toy experiment names."""
    return "|".join(sorted(config["toy"]["experiments"]))


def toy_sim_settings(wildcards):
    """One experiment's merged SGD settings, pruned to the keys it reads."""
    return toy_settings.effective(config["toy"], wildcards.experiment)


def toy_theory_sims():
    """Simulations read by the theory checks (toy_settings.THEORY_INPUTS, in config order)."""
    names = [e for e in config["toy"]["experiments"] if e in toy_settings.THEORY_INPUTS]
    return [TOY_SIM.format(experiment=e) for e in names]


def toy_fig4_sim():
    """The simulation Fig. 4 draws."""
    return TOY_SIM.format(experiment=toy_settings.FIG4)


# ---------------------------------------------------------------- training: settings


def seeds():
    return config["replicates"]["seeds"]


def nn_train_params():
    """Settings shared by every training job (nn.settings.TrainSettings), key-sorted.

    Neither main.epochs nor the learning rates are in here, so longer main paths only add segments.
    """
    return TrainSettings.from_config(config)


def lr_schedule(kind):
    """The learning-rate schedule of the main path ("main") or the subpaths (nn.schedule.Schedule)."""
    return Schedule.from_config(config, kind)


# ---------------------------------------------------------------- training: resources


def torch_threads():
    """Cores a torch job claims: train.threads when set (so -c2 runs two 1-thread jobs at
    once), else 2. Profiles may override them per rule (set-threads)."""
    return config["train"]["threads"] or 2


def gpu_jobs():
    """GPUs a training or landscape job holds (none with train.device: cpu); profiles/gpu
    caps their sum with resources: gpu=N, so GPU jobs never share a GPU unmanaged."""
    return 0 if config["train"]["device"] == "cpu" else 1


def gpu_preflight(job):
    """The preflight flag a GPU job waits for (gpu_preflight, preflight.smk); none unless
    train.device is cuda.

    One temp flag per job: a finished job's flag is gone and nothing remakes it, so a
    rerun checks this machine again before the jobs it runs, and never reruns finished
    ones (one shared flag would be an updated input of every job that read it)."""
    if config["train"]["device"] != "cuda":
        return []
    return [f"results/.preflight/{job}.json"]


def main_runtime(wildcards, attempt):
    """Minutes for a main-path job: 1.2 an epoch of the segment (CPU-sized), per attempt."""
    return max(30, round(1.2 * config["main"]["segment_epochs"])) * attempt


def main_mem_mb(wildcards, attempt):
    """Megabytes for a main-path job, growing with its snapshots and branch states."""
    return segments.main_job_mb(config["main"], config["train"], config["model"]["arch"]) * attempt


def per_run(base, pack):
    """A resource that grows with the runs in a job and with the attempt."""
    return lambda wildcards, attempt: base * len(pack) * attempt


# ---------------------------------------------------------------- training: main path


def main_outputs(name, seed_list=None):
    """One file per seed and main-path segment, seed-major: checkpoint.pt, metrics.json, snapshots.pt or branches.pt."""
    return [
        main_file(name, seed, epoch)
        for seed in (seed_list or seeds())
        for epoch in segments.segment_ends(config["main"])
    ]


def main_segment_start(wildcards):
    """Checkpoint a main-path segment starts from: the previous segment end."""
    start = segments.segment_start(config["main"], int(wildcards.epoch))
    return main_file("checkpoint.pt", wildcards.seed, start)


def main_branch_epochs(wildcards):
    """Epochs of a main-path segment whose states it keeps in branches.pt."""
    return segments.branch_epochs(config["main"], int(wildcards.epoch))


def main_runs(wildcards):
    return [[int(wildcards.seed), run_label()]]


def branches_file(seed, decay):
    """The branches.pt holding the main path's state at a decay epoch."""
    main, decay = config["main"], int(decay)
    if decay > main["epochs"] or not segments.is_branch_epoch(main, decay):
        raise ValueError(
            f"no subpath can branch at epoch {decay}: not a multiple of main.branch_every "
            f"({segments.branch_every(main)}) up to main.epochs ({main['epochs']}), nor main.epochs"
        )
    return main_file("branches.pt", seed, segments.segment_holding(main, decay))


# ---------------------------------------------------------------- training: subpaths
# A pack is the list of (seed, decay epoch) one subpath job trains. With subpath.pack = 1
# it is the one pattern pack [("{seed}", "{decay}")]: one wildcard job per subpath. Else
# packs are explicit, within a seed in config order, so adding a seed adds only its jobs.

PATTERN_PACK = [("{seed}", "{decay}")]


def subpath_packs():
    size, decays = config["subpath"]["pack"], config["subpath"]["decay_epochs"]
    if size == 1:
        return [PATTERN_PACK]
    return [[(seed, d) for d in decays[i : i + size]] for seed in seeds() for i in range(0, len(decays), size)]


def subpath_job(pack):
    """Rule name and file stem of a subpath job."""
    if pack == PATTERN_PACK:
        return "train_subpath", "seed{seed}/decay{decay}"
    (seed, first), size = pack[0], len(pack)
    return f"train_subpath_seed{seed}_pack{first}", f"seed{seed}/pack{first}x{size}"


def _pack_runs(pack, wildcards):
    """(seed, decay epoch) of each run of ``pack``, a pattern pack's wildcards filled in."""
    fill = dict(wildcards.items())
    return [(int(str(s).format(**fill)), int(str(d).format(**fill))) for s, d in pack]


def subpath_files(pack, name):
    return [subpath_file(name, seed, decay) for seed, decay in pack]


def subpath_starts(pack):
    """The branches files a subpath job starts from, each once."""
    return lambda wildcards: sorted({branches_file(s, d) for s, d in _pack_runs(pack, wildcards)})


def subpath_runs(pack):
    return lambda wildcards: [[s, run_label(d)] for s, d in _pack_runs(pack, wildcards)]


def subpath_outputs(name, seed_list=None):
    """One file per seed and subpath, seed-major (decay epochs in config order)."""
    return [
        subpath_file(name, seed, decay)
        for seed in (seed_list or seeds())
        for decay in config["subpath"]["decay_epochs"]
    ]


# ---------------------------------------------------------------- landscape


def landscape_subpaths():
    """Decay epochs of the subpaths in the landscape PCA and Fig. 2 (landscape.subpaths)."""
    chosen = config["landscape"]["subpaths"]
    return sorted(config["subpath"]["decay_epochs"] if chosen == "all" else chosen)


def landscape_seed():
    """The replicate whose trajectories span the landscape (landscape.seed; null = the first)."""
    chosen = config["landscape"]["seed"]
    return seeds()[0] if chosen is None else chosen


def landscape_main_snapshots():
    return main_outputs("snapshots.pt", [landscape_seed()])


def landscape_subpath_snapshots():
    return [subpath_file("snapshots.pt", landscape_seed(), decay) for decay in landscape_subpaths()]


def landscape_grid_params():
    """The grid: extent, both axes, margin, square (what shapes the grid), key-sorted."""
    return _key_sorted(config["landscape"]["grid"])


def landscape_settings():
    """What the chunk and paths jobs read (landscape.settings.LandscapeSettings), key-sorted."""
    return LandscapeSettings.from_config(config)


def landscape_image_params():
    """The image subsets of the train and test surfaces (for Fig. 2's caption)."""
    return landscape_settings()["images"]


# ---------------------------------------------------------------- fig1


def fig1_labels():
    """What Fig. 1's titles name: learning rates, model, loss and evaluation set."""
    return {
        "main_lr": config["main"]["lr"],
        "sub_lr": config["subpath"]["lr"],
        "sub_ramp_epochs": config["subpath"]["ramp_epochs"],
        "arch": config["model"]["arch"],
        "loss": config["model"]["loss"],
        "eval_set": config["data"]["eval_set"],
        "eval_limit": config["data"]["eval_limit"],
    }
