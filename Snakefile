# latedecay: Ren, Ma & Ying (AISTATS 2024), end to end.
#   snakemake -c2 --configfile presets/cpu.yaml   # laptop preset
#   snakemake --profile slurm                     # paper scale on a cluster


import sys

from snakemake.utils import min_version

min_version("9.12")

# Snakemake names neither the file nor the line of a config file that does not parse;
# config.yaml is checked here first (files given with --configfile Snakemake reads
# before this Snakefile, so their parse errors keep Snakemake's message).
sys.path.insert(0, f"{workflow.basedir}/workflow/scripts")
from latedecay.config import check_parses

check_parses(f"{workflow.basedir}/config.yaml")


# Resolved beside this file, so tests can run it with another --directory.
configfile: f"{workflow.basedir}/config.yaml"


report: "workflow/report/workflow.rst"


# Used with --sdm apptainer; build it with containers/latedecay.def (tag = its version label).
container: "containers/latedecay-0.1.0.sif"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/preflight.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/fig1.smk"
include: "workflow/rules/landscape.smk"
include: "workflow/rules/toy.smk"


rule all:
    default_target: True
    input:
        get_final_outputs(),
    localrule: True
