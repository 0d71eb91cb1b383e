# Fig. 1: main-path learning curves and subpath heat maps, plus the summary table.


rule fig1_summary:
    input:
        sub=subpath_outputs("metrics.json"),
    output:
        csv=report(
            "results/fig1_summary.csv",
            caption="../report/fig1_summary.rst",
            category="Fig. 1 CIFAR-10",
            labels={"table": "final losses per decay epoch"},
        ),
    log:
        "logs/fig1_summary/fig1_summary.log",
    localrule: True
    conda:
        "../../envs/plot.yaml"
    params:
        decay_epochs=config["subpath"]["decay_epochs"],
        final_window=config["fig1"]["final_window"],
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
        decay_epochs=config["subpath"]["decay_epochs"],
        main_lr=config["main"]["lr"],
        sub_lr=config["subpath"]["lr"],
        arch=config["model"]["arch"],
        loss=config["model"]["loss"],
        eval_set=config["data"]["eval_set"],
        eval_limit=config["data"]["eval_limit"],
        smooth_epochs=config["fig1"]["smooth_epochs"],
        heatmap_train=config["fig1"]["heatmap_train"],
        log_color=config["fig1"]["log_color"],
        final_window=config["fig1"]["final_window"],
    script:
        "../scripts/plot_fig1.py"
