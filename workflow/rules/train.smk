# Main path (a chain of segments, results/main/epoch{E}/) and subpaths (one job per decay
# epoch, results/sub/decay{decay}/). In-job resume states live in results/.resume/,
# outside the declared outputs, which Snakemake deletes when a job fails.


rule init_main:
    input:
        train="results/data/train.pt",
        eval="results/data/eval.pt",
    output:
        checkpoint=ensure("results/main/epoch0/checkpoint.pt", non_empty=True),
        metrics="results/main/epoch0/metrics.json",
        snapshots="results/main/epoch0/snapshots.pt",
    log:
        "logs/init_main/epoch0.log",
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 30 * attempt,
    params:
        train=nn_train_params(),
    script:
        "../scripts/init_main.py"


rule train_main:
    input:
        start=main_segment_start,
        train="results/data/train.pt",
        eval="results/data/eval.pt",
    output:
        checkpoint=ensure("results/main/epoch{epoch}/checkpoint.pt", non_empty=True),
        metrics="results/main/epoch{epoch}/metrics.json",
        snapshots="results/main/epoch{epoch}/snapshots.pt",
    log:
        "logs/train_main/epoch{epoch}.log",
    benchmark:
        "benchmarks/train_main/epoch{epoch}.tsv"
    wildcard_constraints:
        epoch=r"[1-9]\d*",  # epoch 0 is init_main's
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        mem_mb=lambda wc, attempt: 6000 * attempt,
        runtime=lambda wc, attempt: 120 * attempt,
    params:
        train=nn_train_params(),
        lr=config["main"]["lr"],
        decay=None,
        end_epoch="{epoch}",
        reset_momentum=False,
        resume_file="results/.resume/main/epoch{epoch}.pt",
    script:
        "../scripts/train_job.py"


if config["subpath"]["pack"] == 1:

    rule train_subpath:
        input:
            start="results/main/epoch{decay}/checkpoint.pt",
            train="results/data/train.pt",
            eval="results/data/eval.pt",
        output:
            checkpoint=ensure("results/sub/decay{decay}/checkpoint.pt", non_empty=True),
            metrics="results/sub/decay{decay}/metrics.json",
            snapshots="results/sub/decay{decay}/snapshots.pt",
        log:
            "logs/train_subpath/decay{decay}.log",
        benchmark:
            "benchmarks/train_subpath/decay{decay}.tsv"
        conda:
            "../../envs/torch.yaml"
        threads: 2
        resources:
            mem_mb=lambda wc, attempt: 6000 * attempt,
            runtime=lambda wc, attempt: 240 * attempt,
        params:
            train=nn_train_params(),
            lr=config["subpath"]["lr"],
            decay="{decay}",
            end_epoch=config["subpath"]["epochs"],
            reset_momentum=config["subpath"]["reset_momentum"],
            resume_file="results/.resume/sub/decay{decay}.pt",
        script:
            "../scripts/train_job.py"

else:

    # subpath.pack > 1: one job per pack of decay epochs (vmap over stacked models),
    # same per-decay output files.
    for pack in subpath_packs():

        rule:
            name:
                f"train_subpath_pack{pack[0]}"
            input:
                start=expand("results/main/epoch{decay}/checkpoint.pt", decay=pack),
                train="results/data/train.pt",
                eval="results/data/eval.pt",
            output:
                checkpoint=expand("results/sub/decay{decay}/checkpoint.pt", decay=pack),
                metrics=expand("results/sub/decay{decay}/metrics.json", decay=pack),
                snapshots=expand("results/sub/decay{decay}/snapshots.pt", decay=pack),
            log:
                f"logs/train_subpath_pack/pack{pack[0]}.log",
            benchmark:
                f"benchmarks/train_subpath_pack/pack{pack[0]}.tsv"
            conda:
                "../../envs/torch.yaml"
            threads: 2
            resources:
                mem_mb=lambda wc, attempt: 12000 * attempt,
                runtime=lambda wc, attempt: 480 * attempt,
            params:
                train=nn_train_params(),
                lr=config["subpath"]["lr"],
                decays=pack,
                end_epoch=config["subpath"]["epochs"],
                reset_momentum=config["subpath"]["reset_momentum"],
                resume_file=f"results/.resume/sub/pack{pack[0]}.pt",
            script:
                "../scripts/train_pack.py"
