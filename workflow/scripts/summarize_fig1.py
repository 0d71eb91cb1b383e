"""Rule fig1_summary: results/fig1_summary.csv (per seed and pooled) and results/fig1_verdict.json."""

from latedecay.fig1_runs import load_runs
from latedecay.io import save_csv, save_json, script_logging
from latedecay.verdict import analyze

with script_logging(snakemake.log[0]) as log:
    p = snakemake.params
    runs = load_runs([*snakemake.input.main, *snakemake.input.sub], p.seeds, p.decay_epochs)
    table, verdict = analyze(runs, p.final_window, p.verdict)
    save_csv(table, snakemake.output.csv)
    save_json(verdict, snakemake.output.verdict)
    log.info(
        "%d seeds x %d subpaths; later decay (test loss): %s, gain_change = %s, 95%% CI %s; regime: %s",
        len(runs.seeds),
        len(runs.decay_epochs),
        verdict["later_decay"],
        verdict["gain_change"],
        verdict["gain_change_ci95"],
        verdict["regime"],
    )
    log.info("verdict: %s", verdict["verdict"])
