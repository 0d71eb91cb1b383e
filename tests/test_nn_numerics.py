"""train.precision and train.compile: the compiled engine agrees with the eager one, bf16
runs and is recorded, and the evaluation rewrites give the plain model's numbers."""

import pytest
import torch
from nn_jobs import SEED, metrics, segment, settings, tiny_main

from latedecay.io import load_torch
from latedecay.nn import numerics
from latedecay.nn.data import load_sets
from latedecay.nn.evaluate import evaluate
from latedecay.nn.fast_eval import EvaluationCopy
from latedecay.nn.models import build_model
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
    compiled = segment(data, folder / "epoch0", tmp_path / "compiled", 2, compile="default",
                       compile_cache=str(tmp_path / "cache"))  # fmt: skip
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
    trainer = Trainer.create([build_model("vgg_small")], [Run(SEED, "main")], settings(), 0.05)
    module, forward = trainer.evaluation(0)
    assert module is not trainer.model(0) and forward is module  # eager: the copy itself
    assert any(type(m).__name__ == "Conv2x2" for m in module.modules())
