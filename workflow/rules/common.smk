import sys
from pathlib import Path

from snakemake.utils import validate

# The science package lives beside the entry scripts; rules use it for
# config checks and for planning (segment epochs, chunk counts).
sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

from latedecay import config_checks  # noqa: E402


validate(config, schema="../schemas/config.schema.yaml")
config_checks.check_config(config)


wildcard_constraints:
    epoch=r"\d+",
    decay=r"\d+",


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


# ---------------------------------------------------------------- nn helpers


def main_segment_ends():
    """Epochs at which main-path segments end (0 = the initial checkpoint)."""
    seg, total = config["main"]["segment_epochs"], config["main"]["epochs"]
    ends = list(range(0, total + 1, seg))
    return ends if ends[-1] == total else ends + [total]


def main_outputs(name):
    """One file per main-path segment: checkpoint.pt, metrics.json or snapshots.pt."""
    return expand("results/main/epoch{epoch}/{name}", epoch=main_segment_ends(), name=name)


def subpath_outputs(name):
    """One file per subpath (decay epoch): checkpoint.pt, metrics.json or snapshots.pt."""
    return expand(
        "results/sub/decay{decay}/{name}", decay=config["subpath"]["decay_epochs"], name=name
    )


# ---------------------------------------------------------------- landscape helpers
