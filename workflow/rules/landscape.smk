# Fig. 2: PCA of the snapshots, the loss on a grid of the PCA surface in chunk jobs,
# every snapshot's true loss beside the surface's loss at its coordinates (paths), the
# merged grid, the paths table, their summary and the figure. The chunk and paths jobs
# read one settings object (params.landscape); the grid stays out of it and out of the PCA
# rule's params, so a new grid reruns only the chunks, the merge and the figure.


rule landscape_pca:
    input:
        main=landscape_main_snapshots(),
        sub=landscape_subpath_snapshots(),
    output:
        pca="results/landscape/pca.pt",
        projection="results/landscape/projection.npz",
    log:
        "logs/landscape_pca/landscape_pca.log",
    benchmark:
        "benchmarks/landscape_pca/landscape_pca.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: torch_threads()
    resources:
        mem_mb=lambda wc, attempt: 16000 * attempt,
        runtime=lambda wc, attempt: 30 * attempt,
    params:
        subpaths=landscape_subpaths(),
        main_start=config["landscape"]["main_start"],
        snapshot_stride=config["landscape"]["snapshot_stride"],
        components=config["landscape"]["components"],
        code=code("landscape_pca.py"),
    script:
        "../scripts/landscape_pca.py"


rule landscape_chunk:
    input:
        pca=rules.landscape_pca.output.pca,
        projection=rules.landscape_pca.output.projection,
        train=DATA["train"],
        eval=DATA["eval"],
        preflight=gpu_preflight("landscape_chunk/chunk{chunk}"),
    output:
        chunk=temp("results/landscape/chunks/chunk{chunk}.npz"),
    log:
        "logs/landscape_chunk/chunk{chunk}.log",
    benchmark:
        "benchmarks/landscape_chunk/chunk{chunk}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: torch_threads()
    resources:
        mem_mb=lambda wc, attempt: 12000 * attempt,
        runtime=lambda wc, attempt: 60 * attempt,
        gpu=gpu_jobs(),
    params:
        landscape=landscape_settings(),
        grid=landscape_grid_params(),
        chunks=config["landscape"]["chunks"],
        code=code("landscape_chunk.py"),
    script:
        "../scripts/landscape_chunk.py"


rule landscape_paths:
    input:
        main=landscape_main_snapshots(),
        sub=landscape_subpath_snapshots(),
        pca=rules.landscape_pca.output.pca,
        projection=rules.landscape_pca.output.projection,
        train=DATA["train"],
        eval=DATA["eval"],
        preflight=gpu_preflight("landscape_paths/landscape_paths"),
    output:
        paths="results/landscape/paths.npz",
    log:
        "logs/landscape_paths/landscape_paths.log",
    benchmark:
        "benchmarks/landscape_paths/landscape_paths.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: torch_threads()
    resources:
        mem_mb=lambda wc, attempt: 16000 * attempt,
        runtime=lambda wc, attempt: 120 * attempt,
        gpu=gpu_jobs(),
    params:
        landscape=landscape_settings(),
        code=code("landscape_paths.py"),
    script:
        "../scripts/landscape_paths.py"


rule landscape_merge:
    input:
        chunks=expand(
            rules.landscape_chunk.output.chunk,
            chunk=range(config["landscape"]["chunks"]),
        ),
        projection=rules.landscape_pca.output.projection,
        paths=rules.landscape_paths.output.paths,
    output:
        grid="results/landscape/grid.npz",
        paths="results/landscape/paths.csv",
        summary=report(
            "results/landscape/summary.csv",
            caption="../report/landscape_summary.rst",
            category="Fig. 2 landscape",
            labels={"table": "landscape summary"},
        ),
    log:
        "logs/landscape_merge/landscape_merge.log",
    localrule: True
    conda:
        "../../envs/plot.yaml"
    params:
        code=code("landscape_merge.py"),
    script:
        "../scripts/landscape_merge.py"


rule fig2:
    input:
        grid=rules.landscape_merge.output.grid,
        projection=rules.landscape_pca.output.projection,
        paths=rules.landscape_merge.output.paths,
    output:
        pdf=report(
            "figures/fig2.pdf",
            caption="../report/fig2.rst",
            category="Fig. 2 landscape",
            labels={"figure": "Fig. 2"},
        ),
    log:
        "logs/fig2/fig2.log",
    localrule: True
    conda:
        "../../envs/plot.yaml"
    params:
        loss=config["model"]["loss"],
        color_scale=config["landscape"]["color_scale"],
        quantile_power=config["landscape"]["quantile_power"],
        levels=config["landscape"]["levels"],
        color_quantile=config["landscape"]["color_quantile"],
        # the rest only feeds the report caption (all of it changes the grid anyway)
        arch=config["model"]["arch"],
        surface=config["landscape"]["surface"],
        grid=landscape_grid_params(),
        subpaths=landscape_subpaths(),
        images=landscape_image_params(),
        eval_set=config["data"]["eval_set"],
        code=code("plot_fig2.py"),
    script:
        "../scripts/plot_fig2.py"
