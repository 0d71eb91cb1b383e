# Per seed: the main path (a chain of segments, results/seed{seed}/main/epoch{E}/) and the
# subpaths (results/seed{seed}/sub/decay{decay}/), one job per decay epoch or, with
# subpath.pack > 1, one job per pack of decay epochs (same files, same numbers). A subpath
# starts from the branches.pt of the segment holding its decay epoch (nn.segments). In-job
# resume states live in results/.resume/, outside the declared outputs, which Snakemake
# deletes when a job fails.


rule init_main:
    input:
        train=DATA["train"],
        eval=DATA["eval"],
        preflight=gpu_preflight("init_main/seed{seed}"),
    output:
        checkpoint=ensure(main_file("checkpoint.pt", epoch=0), non_empty=True),
        metrics=main_file("metrics.json", epoch=0),
        snapshots=main_file("snapshots.pt", epoch=0),
        branches=main_file("branches.pt", epoch=0),
    log:
        "logs/init_main/seed{seed}.log",
    conda:
        "../../envs/torch.yaml"
    threads: torch_threads()
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 30 * attempt,
        gpu=gpu_jobs(),
    params:
        train=nn_train_params(),
        code=code("init_main.py"),
    script:
        "../scripts/init_main.py"


rule train_main:
    input:
        start=main_segment_start,
        train=DATA["train"],
        eval=DATA["eval"],
        preflight=gpu_preflight("train_main/seed{seed}/epoch{epoch}"),
    output:
        checkpoint=ensure(main_file("checkpoint.pt"), non_empty=True),
        metrics=main_file("metrics.json"),
        snapshots=main_file("snapshots.pt"),
        branches=main_file("branches.pt"),
    log:
        "logs/train_main/seed{seed}/epoch{epoch}.log",
    benchmark:
        "benchmarks/train_main/seed{seed}/epoch{epoch}.tsv"
    wildcard_constraints:
        epoch=r"[1-9]\d*",  # epoch 0 is init_main's
    # The main path is the critical chain: every later subpath waits on its next segment.
    priority: 10
    conda:
        "../../envs/torch.yaml"
    threads: torch_threads()
    resources:
        mem_mb=main_mem_mb,
        runtime=main_runtime,
        gpu=gpu_jobs(),
    params:
        train=nn_train_params(),
        schedule=lr_schedule("main"),
        runs=main_runs,
        end_epoch="{epoch}",
        reset_momentum=False,
        branch_epochs=main_branch_epochs,
        resume_file="results/.resume/seed{seed}/main/epoch{epoch}.pt",
        code=code("train.py"),
    script:
        "../scripts/train.py"


for pack in subpath_packs():
    name, stem = subpath_job(pack)

    rule:
        name:
            name
        input:
            start=subpath_starts(pack),
            train=DATA["train"],
            eval=DATA["eval"],
            preflight=gpu_preflight(f"train_subpath/{stem}"),
        output:
            checkpoint=subpath_files(pack, "checkpoint.pt"),
            metrics=subpath_files(pack, "metrics.json"),
            snapshots=subpath_files(pack, "snapshots.pt"),
        log:
            f"logs/train_subpath/{stem}.log",
        benchmark:
            f"benchmarks/train_subpath/{stem}.tsv"
        conda:
            "../../envs/torch.yaml"
        threads: torch_threads()
        resources:
            mem_mb=per_run(6000, pack),
            runtime=per_run(240, pack),
            gpu=gpu_jobs(),
        params:
            train=nn_train_params(),
            schedule=lr_schedule("subpath"),
            runs=subpath_runs(pack),
            end_epoch=config["subpath"]["epochs"],
            reset_momentum=config["subpath"]["reset_momentum"],
            branch_epochs=[],
            resume_file=f"results/.resume/{stem}.pt",
            code=code("train.py"),
        script:
            "../scripts/train.py"
