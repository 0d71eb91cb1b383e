"""Rule fig1_summary: results/fig1_summary.csv (per seed and pooled) and results/fig1_verdict.json."""

from latedecay.io import save_csv, save_json, script_logging
from latedecay.plots.fig1_summary import Settings, analyze, load_runs

with script_logging(snakemake.log[0]) as log:
    p = snakemake.params
    runs = load_runs(snakemake.input.main, snakemake.input.sub, p.seeds, p.decay_epochs)
    table, verdict = analyze(runs, Settings.from_params(p.options))
    save_csv(table, snakemake.output.csv)
    save_json(verdict, snakemake.output.verdict)
    log.info(
        "%d seeds x %d subpaths; Spearman rho(decay epoch, final test loss) = %s, p = %s",
        len(runs.seeds),
        len(runs.decay_epochs),
        verdict.get("spearman_rho"),
        verdict.get("spearman_p"),
    )
    log.info("verdict: %s", verdict["verdict"])
