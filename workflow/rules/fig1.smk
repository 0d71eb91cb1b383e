# Fig. 1: main-path learning curves, subpath heat maps and final losses, plus the
# summary table and the verdict. input.main and input.sub are seed-major; the
# scripts split them with params.seeds (latedecay.plots.fig1_summary).


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
            labels={"table": "verdict: plateau and late-decay statistics"},
        ),
    log:
        "logs/fig1_summary/fig1_summary.log",
    localrule: True
    conda:
        "../../envs/plot.yaml"
    params:
        seeds=seeds(),
        decay_epochs=config["subpath"]["decay_epochs"],
        options=config["fig1"],
        code=code("summarize_fig1.py"),
    script:
        "../scripts/summarize_fig1.py"


rule fig1:
    input:
        main=main_outputs("metrics.json"),
        sub=subpath_outputs("metrics.json"),
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
