# latedecay: Ren, Ma & Ying (AISTATS 2024), end to end.
#   snakemake -c2 --configfile presets/cpu.yaml   # laptop preset
#   snakemake --profile slurm                     # paper scale on a cluster


from snakemake.utils import min_version

min_version("9.12")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


rule all:
    input:
        get_final_outputs(),
    localrule: True
    default_target: True
