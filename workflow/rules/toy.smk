# Toy-model theory: Fig. 3, Fig. 4 and the theory checks. One simulation job
# per experiment; its params hold only the settings that simulation reads.


rule toy_simulate:
    output:
        npz=TOY_SIM,
    log:
        "logs/toy_simulate/{experiment}.log",
    benchmark:
        "benchmarks/toy_simulate/{experiment}.tsv"
    wildcard_constraints:
        experiment=toy_experiment_pattern(),
    conda:
        "../../envs/torch.yaml"
    threads: 1
    params:
        settings=toy_sim_settings,
        code=code("toy_simulate.py"),
    script:
        "../scripts/toy_simulate.py"


rule toy_theory:
    input:
        sims=toy_theory_sims(),
    output:
        pdf=report(
            "figures/toy_theory.pdf",
            caption="../report/toy_theory.rst",
            category="Toy models",
            labels={"figure": "theory checks"},
        ),
        csv="results/toy/summary.csv",
    log:
        "logs/toy_theory/toy_theory.log",
    localrule: True
    conda:
        "../../envs/plot.yaml"
    params:
        phase1_factor=config["toy"]["theory"]["phase1_factor"],
        phase2_tol=config["toy"]["theory"]["phase2_tol"],
        mixing_floor=config["toy"]["theory"]["mixing_floor"],
        code=code("toy_theory.py"),
    script:
        "../scripts/toy_theory.py"


rule toy_fig3:
    output:
        pdf=report(
            "figures/fig3.pdf",
            caption="../report/fig3.rst",
            category="Toy models",
            labels={"figure": "Fig. 3"},
        ),
    log:
        "logs/toy_fig3/toy_fig3.log",
    localrule: True
    conda:
        "../../envs/plot.yaml"
    params:
        w_star=config["toy"]["fig3"]["w_star"],
        x=config["toy"]["fig3"]["x"],
        gamma=config["toy"]["gamma"],
        limit=config["toy"]["fig3"]["limit"],
        grid=config["toy"]["fig3"]["grid"],
        code=code("toy_fig3.py"),
    script:
        "../scripts/toy_fig3.py"


rule toy_fig4:
    input:
        sim=toy_fig4_sim(),
    output:
        pdf=report(
            "figures/fig4.pdf",
            caption="../report/fig4.rst",
            category="Toy models",
            labels={"figure": "Fig. 4"},
        ),
    log:
        "logs/toy_fig4/toy_fig4.log",
    localrule: True
    conda:
        "../../envs/plot.yaml"
    params:
        phase1_factor=config["toy"]["theory"]["phase1_factor"],
        code=code("toy_fig4.py"),
    script:
        "../scripts/toy_fig4.py"
