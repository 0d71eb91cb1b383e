# Before every GPU job (train.device: cuda, e.g. profiles/gpu): the driver against torch's
# CUDA build, Triton's C compiler and Python headers, one tiny compile in the jobs' mode
# (latedecay.nn.preflight). It fails naming the fix; the GPU jobs behind it do not start.


rule gpu_preflight:
    output:
        temp("results/.preflight/{gpu_job}.json"),
    log:
        "logs/gpu_preflight/{gpu_job}.log",
    wildcard_constraints:
        gpu_job=r"[\w/.-]+",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
        gpu=gpu_jobs(),
    params:
        train=nn_train_params(),
        code=code("gpu_preflight.py"),
    script:
        "../scripts/gpu_preflight.py"
