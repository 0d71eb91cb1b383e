# CIFAR-10: the raw batch files under data.root, then their md5 check, the training
# subset and the evaluation set, written once. The batch files are prepare_data's
# inputs, so a changed or replaced batch file reruns it (and what follows).
#
# Only absent batch files are outputs of the download rule (there is none when all are
# there): a file that exists belongs to no rule, so no trigger (a newer script, -F,
# --forcerun) can make Snakemake delete a user's or a shared copy before "rebuilding" it.
CIFAR_FILES = expand(
    "{root}/cifar-10-batches-py/{name}",
    root=config["data"]["root"],
    name=[
        "data_batch_1",
        "data_batch_2",
        "data_batch_3",
        "data_batch_4",
        "data_batch_5",
        "test_batch",
        "batches.meta",
    ],
)
CIFAR_ABSENT = [f for f in CIFAR_FILES if not Path(f).exists()]

if CIFAR_ABSENT:

    rule download_cifar:
        output:
            CIFAR_ABSENT,
        log:
            "logs/download_cifar/download_cifar.log",
        localrule: True
        conda:
            "../../envs/torch.yaml"
        params:
            code=code("download_cifar.py"),
        script:
            "../scripts/download_cifar.py"


rule prepare_data:
    input:
        CIFAR_FILES,
    output:
        train=DATA["train"],
        eval=DATA["eval"],
        check="results/data/cifar_check.json",
    log:
        "logs/prepare_data/prepare_data.log",
    conda:
        "../../envs/torch.yaml"
    resources:
        mem_mb=6000,
    params:
        allow_checksum_mismatch=config["data"]["allow_checksum_mismatch"],
        per_class=config["data"]["subset"]["per_class"],
        seed=config["data"]["subset"]["seed"],
        eval_set=config["data"]["eval_set"],
        eval_limit=config["data"]["eval_limit"],
        code=code("prepare_data.py"),
    script:
        "../scripts/prepare_data.py"
