# CIFAR-10: obtain the batch files (torchvision download + md5 check), then write the
# training subset and the evaluation set once.


rule download_cifar:
    output:
        "results/data/cifar_check.json",
    log:
        "logs/download_cifar/download_cifar.log",
    localrule: True
    conda:
        "../../envs/torch.yaml"
    params:
        root=config["data"]["root"],
        allow_checksum_mismatch=config["data"]["allow_checksum_mismatch"],
    script:
        "../scripts/download_cifar.py"


rule prepare_data:
    input:
        "results/data/cifar_check.json",
    output:
        train="results/data/train.pt",
        eval="results/data/eval.pt",
    log:
        "logs/prepare_data/prepare_data.log",
    conda:
        "../../envs/torch.yaml"
    resources:
        mem_mb=6000,
    params:
        root=config["data"]["root"],
        per_class=config["data"]["subset"]["per_class"],
        seed=config["data"]["subset"]["seed"],
        eval_set=config["data"]["eval_set"],
        eval_limit=config["data"]["eval_limit"],
    script:
        "../scripts/prepare_data.py"
