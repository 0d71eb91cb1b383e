"""CIFAR-10 files (md5 policy, offline error, corrupt and malicious files) and the prepared sets."""

import builtins
import logging
import os
import pickle
import re
import tracemalloc

import numpy as np
import pytest
import torch
from tiny_cifar import write_tiny_cifar

from latedecay.nn import cifar
from latedecay.nn.prepare import prepare_sets, subset_indices


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    path = tmp_path_factory.mktemp("cifar")
    write_tiny_cifar(path, per_batch=100, test=60)
    return path


def test_read_split_layout(root):
    images, labels = cifar.read_split(root, train=True)
    assert images.shape == (500, 3, 32, 32) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [50] * 10
    with open(cifar.batch_dir(root) / "data_batch_2", "rb") as fh:
        raw = pickle.load(fh, encoding="latin1")
    # image 100 is the first of batch 2; its red plane is the first 1024 values of the row
    assert np.array_equal(images[100, 0].ravel(), raw["data"][0, :1024])
    assert labels[100] == raw["labels"][0]


def test_md5_mismatch_is_an_error_unless_allowed(root, caplog):
    with pytest.raises(RuntimeError, match="allow_checksum_mismatch") as err:
        cifar.ensure_cifar(root, allow_mismatch=False)
    assert "data_batch_1" in str(err.value)
    with caplog.at_level(logging.WARNING):
        report = cifar.ensure_cifar(root, allow_mismatch=True)
    assert "data_batch_1" in report["mismatch"] and "data_batch_1" in caplog.text
    assert "batches.meta" in report["md5"]


def test_offline_without_copy_says_where_to_put_the_data(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(cifar, "download_and_extract_archive", offline)
    with pytest.raises(FileNotFoundError) as err:
        cifar.ensure_cifar(tmp_path / "nowhere")
    message = str(err.value)
    assert str(tmp_path / "nowhere" / "cifar-10-batches-py") in message
    assert "data_batch_1" in message and "test_batch" in message and "data.root" in message


def test_corrupt_batch_file_is_named(tmp_path):
    folder = write_tiny_cifar(tmp_path, per_batch=10, test=10)
    (folder / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(RuntimeError, match="data_batch_3"):
        cifar.read_split(tmp_path, train=True)


class Payload:
    """Unpickling this calls ``call(*args)``: what a tampered batch file can do."""

    def __init__(self, call, *args):
        self.call, self.args = call, args

    def __reduce__(self):
        return self.call, self.args


def payloads(marker):
    return {
        "os.system": Payload(os.system, f"touch {marker}"),
        "builtins.exec": Payload(builtins.exec, f"open({str(marker)!r}, 'w').write('ran')"),
        "builtins.eval": Payload(builtins.eval, f"open({str(marker)!r}, 'w').write('ran')"),
    }


@pytest.mark.parametrize("protocol", [0, 2, 5])
@pytest.mark.parametrize("kind", ["os.system", "builtins.exec", "builtins.eval"])
def test_payload_batch_file_is_refused_without_running(tmp_path, kind, protocol):
    folder = write_tiny_cifar(tmp_path, per_batch=10, test=10)
    marker = tmp_path / "marker"
    entry = cifar.load_batch_file(folder / "data_batch_2")
    entry["labels"] = payloads(marker)[kind]  # deep inside an otherwise valid batch
    (folder / "data_batch_2").write_bytes(pickle.dumps(entry, protocol=protocol))
    with pytest.raises(cifar.RefusedGlobal) as err:
        cifar.read_split(tmp_path, train=True)
    assert str(folder / "data_batch_2") in str(err.value)
    # named as the file spells it: posix.system, builtins.exec (__builtin__.exec below protocol 3)
    assert re.search(rf"the global \w+\.{kind.split('.')[1]},", str(err.value))
    assert not marker.exists()
    with open(folder / "data_batch_2", "rb") as fh:
        pickle.load(fh)  # the payload is live: a plain load runs it
    assert marker.exists()


def test_codecs_encode_admits_only_latin1_bytes(tmp_path):
    ok = pickle.dumps({"data": b"\x00\xff"}, protocol=2)  # bytes as _codecs.encode(str, "latin1")
    assert b"_codecs" in ok
    (tmp_path / "ok").write_bytes(ok)
    assert cifar.load_batch_file(tmp_path / "ok") == {"data": b"\x00\xff"}
    (tmp_path / "odd").write_bytes(ok.replace(b"latin1", b"rot_13"))
    with pytest.raises(pickle.UnpicklingError, match="rot_13"):
        cifar.load_batch_file(tmp_path / "odd")


def test_safe_reader_loads_tiny_and_real_batches(root, repo):
    raw = cifar.load_batch_file(cifar.batch_dir(root) / "data_batch_1")
    assert raw["data"].shape == (100, 3072) and raw["data"].dtype == np.uint8 and len(raw["labels"]) == 100
    assert cifar.load_batch_file(cifar.batch_dir(root) / "batches.meta")["num_vis"] == 3072
    real = repo.parent / "shared" / "data" / "cifar-10-batches-py" / "test_batch"
    if not real.is_file():
        pytest.skip("no offline CIFAR-10 copy beside the checkout")
    entry = cifar.load_batch_file(real)  # names numpy.core.multiarray._reconstruct (NumPy 1 pickles)
    assert entry["data"].dtype == np.uint8 and entry["data"].shape[1] == 3072
    assert len(entry["labels"]) == len(entry["data"])


def test_subset_draws_each_class_with_a_fresh_generator():
    labels = np.tile(np.arange(10), 30)  # class c at positions c, c+10, ...
    idx = subset_indices(labels, per_class=7, seed=23479)
    positions = np.random.default_rng(23479).choice(30, 7, replace=False)
    for c in range(10):
        block = idx[7 * c : 7 * (c + 1)]
        assert np.all(labels[block] == c)
        # fresh generator per class: the same positions within every class, in draw order
        assert np.array_equal(block, np.flatnonzero(labels == c)[positions])
    assert len(set(idx.tolist())) == 70


def test_subset_rejects_small_classes():
    with pytest.raises(ValueError, match="per_class"):
        subset_indices(np.arange(10), per_class=2, seed=0)


@pytest.mark.parametrize(
    "eval_set, limit, split, count, per_class",
    [
        ("train_all", None, "train", 500, 50),
        ("train_rest", None, "train", 400, 40),
        ("test", None, "test", 60, 6),
        ("train_all", 30, "train", 30, 3),
    ],
)
def test_eval_set_construction(root, eval_set, limit, split, count, per_class):
    train, ev = prepare_sets(root, per_class=10, seed=23479, eval_set=eval_set, eval_limit=limit)
    images, labels = cifar.read_split(root, train=split == "train")
    assert train["split"] == "train" and ev["split"] == split
    assert train["images"].dtype == torch.uint8 and train["labels"].dtype == torch.int64
    assert torch.bincount(train["labels"], minlength=10).tolist() == [10] * 10
    assert len(ev["indices"]) == count
    assert torch.bincount(ev["labels"], minlength=10).tolist() == [per_class] * 10
    # every record holds exactly the source images and labels at its indices
    for record, (src_images, src_labels) in ((train, cifar.read_split(root, True)), (ev, (images, labels))):
        idx = record["indices"].numpy()
        assert np.array_equal(record["images"].numpy(), src_images[idx])
        assert np.array_equal(record["labels"].numpy(), src_labels[idx])
    if eval_set == "train_rest":
        assert not set(ev["indices"].tolist()) & set(train["indices"].tolist())
        assert torch.all(ev["indices"][1:] > ev["indices"][:-1])  # dataset order
    if eval_set == "train_all":
        assert ev["indices"].tolist() == list(range(count))


def test_prepared_sets_on_real_cifar_if_present(repo):
    root = repo.parent / "shared" / "data"
    if not (root / "cifar-10-batches-py" / "data_batch_1").is_file():
        pytest.skip("no offline CIFAR-10 copy beside the checkout")
    train, ev = prepare_sets(root, per_class=500, seed=23479, eval_set="train_all")
    assert len(train["labels"]) == 5000 and len(ev["labels"]) == 50000
    assert torch.bincount(train["labels"]).tolist() == [500] * 10
    assert ev["labels"][:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]  # README's first labels
    assert ev["images"][0, :, 0, 0].tolist() == [59, 62, 63]


def rewrite(folder, name, **changes):
    """Rewrite one batch file of the tiny set with some entries replaced; returns its path."""
    path = folder / name
    with open(path, "rb") as fh:
        entry = pickle.load(fh, encoding="latin1")
    path.write_bytes(pickle.dumps({**entry, **changes}, protocol=2))
    return path


def pixels(folder, name="data_batch_2"):
    with open(folder / name, "rb") as fh:
        return pickle.load(fh, encoding="latin1")["data"]


def labels_with(value, at=17, n=10):
    labels = [i % 10 for i in range(n)]
    labels[at] = value
    return labels


BAD_ARRAYS = {  # what each silently became before: truncated, wrapped, scrambled, accepted
    "float pixels": (lambda d: {"data": d.astype(np.float64) + 0.7}, "data has dtype float64, expected uint8"),
    "float pixels above 255": (lambda d: {"data": d.astype(np.float64) * 2}, "data has dtype float64, expected uint8"),
    "negative int pixels": (lambda d: {"data": d.astype(np.int64) - 300}, "data has dtype int64, expected uint8"),
    "HWC images": (
        lambda d: {"data": d.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()},
        re.escape("data has shape (20, 32, 32, 3), expected (N, 3072)"),
    ),
    "label 2**40": (lambda d: {"labels": labels_with(2**40, n=20)}, r"labels\[17\] = 1099511627776, expected 0\.\.9"),
    "label 10": (lambda d: {"labels": labels_with(10, n=20)}, r"labels\[17\] = 10, expected 0\.\.9"),
    "label -1": (lambda d: {"labels": labels_with(-1, at=3, n=20)}, r"labels\[3\] = -1, expected 0\.\.9"),
    "float labels": (lambda d: {"labels": [float(i % 10) for i in range(20)]}, "labels has dtype float64"),
    "labels short": (lambda d: {"labels": [0] * 19}, re.escape("labels has shape (19,), expected (20,)")),
}


@pytest.mark.parametrize("case", BAD_ARRAYS)
def test_bad_arrays_are_refused_naming_file_key_and_value(tmp_path, case):
    folder = write_tiny_cifar(tmp_path, per_batch=20, test=10)
    change, message = BAD_ARRAYS[case]
    path = rewrite(folder, "data_batch_2", **change(pixels(folder)))
    with pytest.raises(RuntimeError, match=message) as err:
        cifar.read_split(tmp_path, train=True)
    assert f"CIFAR-10 batch file {path}:" in str(err.value)


def huge_array_call():
    """A pickle that calls numpy.ndarray((350000, 3072), uint8): 1.07 GB, uninitialised."""
    return Payload(np.ndarray, (350_000, 3072), np.dtype(np.uint8))


HUGE = {  # a short file declaring gigabytes: an array, a bytes length, a memo index
    "ndarray call": (
        lambda: pickle.dumps({"data": huge_array_call(), "labels": [0] * 10}, protocol=2),
        "calls numpy.ndarray directly",
    ),
    "array state": (
        lambda: pickle.dumps({"data": np.zeros((1, 3072), np.uint8), "labels": [0]}, protocol=2).replace(
            b"K\x01M\x00\x0c\x86", b"J\x00\x00\x10\x00M\x00\x0c\x86"
        ),  # shape (1, 3072) -> (2**20, 3072)
        re.escape("shape (1048576, 3072) and dtype uint8 (3,221,225,472 bytes) but holds only"),
    ),
    "bytes length": (
        lambda: b"\x80\x04\x8e" + (1 << 30).to_bytes(8, "little") + b"x" * 100 + b".",
        "expected 1073741824 bytes in a bytes8, but only 101 remain",
    ),
    "memo index": (
        lambda: b"\x80\x02N" + b"r" + (1 << 26).to_bytes(4, "little") + b".",
        "LONG_BINPUT 67,108,864 at byte 3 but it holds only 9 bytes",
    ),
}


@pytest.mark.parametrize("case", HUGE)
def test_short_file_cannot_declare_gigabytes(tmp_path, case):
    folder = write_tiny_cifar(tmp_path, per_batch=10, test=10)
    content, message = HUGE[case]
    (folder / "data_batch_2").write_bytes(content())
    assert (folder / "data_batch_2").stat().st_size < 40_000
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match=message) as err:
            cifar.read_split(tmp_path, train=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(folder / "data_batch_2") in str(err.value)
    assert peak < 20_000_000  # the tiny set itself, never the declared size


def test_real_batches_pass_validation(repo):
    root = repo.parent / "shared" / "data"
    if not (root / "cifar-10-batches-py" / "test_batch").is_file():
        pytest.skip("no offline CIFAR-10 copy beside the checkout")
    images, labels = cifar.read_split(root, train=False)
    assert images.dtype == np.uint8 and images.shape[1:] == (3, 32, 32) and labels.dtype == np.int64
    assert len(images) == len(labels) and set(np.unique(labels).tolist()) == set(range(10))
