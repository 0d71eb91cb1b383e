# Fig. 1: the summary table and the verdict (fig1_summary), then the figure, which draws
# them beside the learning curves and heat maps (fig1). The scripts group the metrics
# files by the seed and run each records (latedecay.fig1_runs), not by their order.


rule fig1_summary:
    input:
        main=main_outputs("metrics.json"),
        sub=subpath_outputs("metrics.json"),
    output:
        csv=report(
            "results/fig1_summary.csv",
            caption="../report/fig1_summary.rst",
            category="Fig. 1 CIFAR-10",
            labels={"table": "final losses per seed and decay epoch"},
        ),
        verdict=report(
            "results/fig1_verdict.json",
            caption="../report/fig1_verdict.rst",
            category="Fig. 1 CIFAR-10",
            labels={"table": "verdict: the paired late-decay effect and the regime"},
        ),
    log:
        "logs/fig1_summary/fig1_summary.log",
    localrule: True
    conda:
        "../../envs/plot.yaml"
    params:
        seeds=seeds(),
        decay_epochs=config["subpath"]["decay_epochs"],
        final_window=config["fig1"]["final_window"],
        verdict=config["verdict"],
        code=code("summarize_fig1.py"),
    script:
        "../scripts/summarize_fig1.py"


rule fig1:
    input:
        main=main_outputs("metrics.json"),
        sub=subpath_outputs("metrics.json"),
        csv=rules.fig1_summary.output.csv,
        verdict=rules.fig1_summary.output.verdict,
    output:
        pdf=report(
            "figures/fig1.pdf",
            caption="../report/fig1.rst",
            category="Fig. 1 CIFAR-10",
            labels={"figure": "Fig. 1"},
        ),
    log:
        "logs/fig1/fig1.log",
    localrule: True
    conda:
        "../../envs/plot.yaml"
    params:
        seeds=seeds(),
        decay_epochs=config["subpath"]["decay_epochs"],
        options=config["fig1"],
        labels=fig1_labels(),
        code=code("plot_fig1.py"),
    script:
        "../scripts/plot_fig1.py"
