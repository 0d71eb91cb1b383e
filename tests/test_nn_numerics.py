"""train.precision and train.compile: the compiled engine agrees with the eager one, bf16
runs (every forward pass, training and evaluation, fp32 weights), resumes bitwise after a
kill and is recorded, and the evaluation rewrites give the plain model's numbers."""

import contextlib

import pytest
import torch
from nn_jobs import SEED, main_outputs, metrics, segment, settings, subpaths, tiny_main
from test_nn_engine import kill_and_resume

from latedecay.io import load_torch
from latedecay.nn import engine, numerics
from latedecay.nn.data import Split, load_sets
from latedecay.nn.evaluate import evaluate
from latedecay.nn.fast_eval import EvaluationCopy
from latedecay.nn.models import build_model
from latedecay.nn.schedule import Schedule
from latedecay.nn.trainer import Run, Trainer

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_main(tmp_path_factory.mktemp("numerics"))


def test_compile_and_precision_settings_resolve():
    assert numerics.compile_mode("auto", CPU) == "off" and numerics.compile_mode("auto", CUDA) == "reduce-overhead"
    assert numerics.compile_mode("max-autotune", CPU) == "max-autotune"
    with pytest.raises(ValueError, match="train.compile"):
        numerics.compile_mode("fast", CPU)
    numerics.set_matmul_precision("tf32")
    assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    numerics.set_matmul_precision("fp32")  # full FP32, cuDNN's TF32 default switched off too
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    with pytest.raises(ValueError, match="train.precision"):
        numerics.set_matmul_precision("fp16")


def test_compiled_training_agrees_with_eager_to_round_off(tiny, tmp_path):
    """Two epochs of the tiny main path, dropout on, compiled (Inductor on CPU) and eager."""
    folder, data = tiny
    eager = segment(data, folder / "epoch0", tmp_path / "eager", 2)
    compiled = segment(
        data, folder / "epoch0", tmp_path / "compiled", 2, compile="default", compile_cache=str(tmp_path / "cache")
    )
    a, b = (load_torch(o["checkpoint"])["model"] for o in (eager, compiled))
    # Compiled kernels sum in another order, nothing more: the weights agree to 1e-5 of
    # their scale. (Per tensor, the near-zero conv biases -- sums of many gradient
    # elements -- differ by ~1e-3 of their own tiny size.)
    flat = [torch.cat([t[k].reshape(-1) for k in t]) for t in (a, b)]
    assert 0 < float((flat[0] - flat[1]).norm() / flat[0].norm()) < 1e-6
    assert float((flat[0] - flat[1]).abs().max() / flat[0].abs().max()) < 1e-5
    ma, mb = metrics(eager), metrics(compiled)
    assert mb["compile"] == "default" and ma["compile"] == "off"
    assert mb["train_batch_loss"] == pytest.approx(ma["train_batch_loss"], rel=1e-4)
    assert mb["eval"]["test_loss"] == pytest.approx(ma["eval"]["test_loss"], rel=1e-4)
    assert load_torch(compiled["checkpoint"]).keys() == load_torch(eager["checkpoint"]).keys()  # same format


def test_bf16_autocast_trains_and_is_recorded(tiny, tmp_path):
    folder, data = tiny
    fp32 = segment(data, folder / "epoch0", tmp_path / "fp32", 1)
    bf16 = segment(data, folder / "epoch0", tmp_path / "bf16", 1, precision="bf16")
    m32, m16 = metrics(fp32), metrics(bf16)
    assert (m32["precision"], m16["precision"]) == ("fp32", "bf16")
    assert m16["train_batch_loss"][0] != m32["train_batch_loss"][0]  # it did run in bf16
    assert m16["train_batch_loss"][0] == pytest.approx(m32["train_batch_loss"][0], rel=0.05)
    weights = load_torch(bf16["checkpoint"])["model"]
    assert all(v.dtype == torch.float32 for v in weights.values())  # the weights stay fp32


@contextlib.contextmanager
def layer_dtypes():
    """The output dtypes of every layer with weights (convolutions, linear layers, their
    evaluation rewrites) run inside on image batches, and their weights' dtypes. (One image:
    fast_eval's shape probe, no evaluation.)"""
    seen = {"out": set(), "weight": set()}

    def hook(module, args, out):
        if isinstance(getattr(module, "weight", None), torch.Tensor) and args[0].shape[0] > 1:
            seen["out"].add(out.dtype)
            seen["weight"].add(module.weight.dtype)

    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()


@pytest.mark.parametrize("precision, dtype", [("bf16", torch.bfloat16), ("fp32", torch.float32)])
def test_every_forward_pass_runs_in_the_precision(tiny, tmp_path, precision, dtype):
    """Training and evaluation, of one model and of a pack (vmap); fp32 weights throughout."""
    folder, data = tiny
    with layer_dtypes() as seen:
        segment(data, folder / "epoch0", tmp_path / "main", 2, branch_epochs=[1, 2], precision=precision)
        subpaths(
            data,
            [(SEED, tmp_path / "main", 1), (SEED, tmp_path / "main", 2)],
            [tmp_path / "a", tmp_path / "b"],
            1,
            precision=precision,
        )
    assert seen == {"out": {dtype}, "weight": {torch.float32}}


def test_a_bf16_pack_with_batchnorm_trains_in_bf16():
    """vgg11_bn: vmap's BatchNorm takes no mixed dtypes, so the pack's BatchNorm computes in fp32."""
    images = torch.randint(0, 256, (50, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    train = Split(images, torch.arange(50) % 10)
    torch.manual_seed(SEED)
    models = [engine.place(build_model("vgg11_bn"), CPU) for _ in range(2)]
    runs = [Run(SEED, "decay1"), Run(SEED, "decay2")]
    trainer = Trainer.create(models, runs, settings(arch="vgg11_bn", precision="bf16"), Schedule(0.01))
    with layer_dtypes() as seen:
        losses = trainer.train_epoch(train, 1)
    assert seen == {"out": {torch.bfloat16}, "weight": {torch.float32}} and bool(torch.isfinite(losses).all())


def test_bf16_resumes_bitwise_after_a_kill(tiny, tmp_path):
    folder, data = tiny
    straight = segment(data, folder / "epoch0", tmp_path / "straight", 4, branch_epochs=[1, 2, 3, 4], precision="bf16")
    resume = tmp_path / "resume.pt"
    args = [data["train"], data["eval"], folder / "epoch0", tmp_path / "killed", 4, resume, "--precision=bf16"]
    assert 1 <= kill_and_resume(args, resume) < 4
    killed = main_outputs(tmp_path / "killed")
    for name in ("checkpoint", "snapshots", "branches", "metrics"):
        assert killed[name].read_bytes() == straight[name].read_bytes(), name
    assert metrics(killed)["precision"] == "bf16"


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_evaluation_copy_gives_the_plain_models_numbers(tiny, dtype, tol):
    _, data = tiny
    _, split = load_sets(data["train"], data["eval"], CPU)
    torch.manual_seed(SEED)
    model = build_model("vgg_small").to(dtype)
    copy = EvaluationCopy(model)
    assert copy.conv2x2  # the rewrite hit the convolutions on 2x2 maps
    with torch.no_grad():  # other weights than at construction: load() refreshes them
        for p in model.parameters():
            p.mul_(1.01)
    plain = torch.stack(evaluate(model, split, "mse"))
    fast = torch.stack(evaluate(copy.load(model), split, "mse"))
    assert torch.allclose(plain, fast, rtol=tol, atol=0)


def test_trainer_evaluates_through_the_rewritten_copy(tiny):
    _, data = tiny
    torch.manual_seed(SEED)
    trainer = Trainer.create([build_model("vgg_small")], [Run(SEED, "main")], settings(), Schedule(0.05))
    module, forward = trainer.evaluation(0)
    assert module is not trainer.model(0) and forward is module  # eager: the copy itself
    assert any(type(m).__name__ == "Conv2x2" for m in module.modules())
