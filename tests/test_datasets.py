"""The Fashion-MNIST loader, on tiny idx files written by the tests."""

import gzip
import struct

import numpy as np
import pytest

from skunsup.datasets import find_fashion_mnist, load_fashion_mnist, load_tour_data
from skunsup.datasets._fashion_mnist import DATA_ENV_VAR

N_TRAIN, N_TEST = 60_000, 10_000


def _write_idx(path, array, magic, compress=True):
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", n) for n in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(str(path) + ".gz", "wb", compresslevel=1) as handle:
            handle.write(payload)
    else:
        path.write_bytes(payload)


@pytest.fixture(scope="module")
def fake_home(tmp_path_factory):
    """A folder with the four files at the real sizes (pixels: a function of the index)."""
    home = tmp_path_factory.mktemp("fashion")
    rng = np.random.default_rng(0)
    for prefix, n in (("train", N_TRAIN), ("t10k", N_TEST)):
        images = np.zeros((n, 28, 28), dtype=np.uint8)
        images[:, 0, 0] = np.arange(n) % 256
        images[:, 27, 27] = 255
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        _write_idx(home / f"{prefix}-images-idx3-ubyte", images, 2051)
        _write_idx(home / f"{prefix}-labels-idx1-ubyte", labels, 2049)
    return home


def test_loads_all_subsets_with_bunch_fields(fake_home):
    bunch = load_fashion_mnist(data_home=fake_home)
    assert bunch.data.shape == (N_TRAIN + N_TEST, 784)
    assert bunch.images.shape == (N_TRAIN + N_TEST, 28, 28)
    assert bunch.images.dtype == np.uint8
    assert bunch.target.shape == (N_TRAIN + N_TEST,)
    assert len(bunch.target_names) == 10 and bunch.target_names[9] == "Ankle boot"
    assert bunch.data.min() == 0.0 and bunch.data.max() == 1.0
    # train comes first, then test: pixel (0, 0) encodes the index within each file
    assert bunch.images[N_TRAIN, 0, 0] == 0 and bunch.images[N_TRAIN - 1, 0, 0] == (N_TRAIN - 1) % 256


@pytest.mark.parametrize("subset, n", [("train", N_TRAIN), ("test", N_TEST)])
def test_subsets_and_dtypes(fake_home, subset, n):
    X, y = load_fashion_mnist(data_home=fake_home, subset=subset, return_X_y=True,
                              dtype=np.float32)
    assert X.shape == (n, 784) and X.dtype == np.float32 and y.shape == (n,)
    raw, _ = load_fashion_mnist(data_home=fake_home, subset=subset, return_X_y=True,
                                dtype=np.uint8)
    assert raw.dtype == np.uint8 and raw.max() == 255
    np.testing.assert_allclose(X, raw / 255.0, rtol=1e-6)


def test_as_frame(fake_home):
    pytest.importorskip("pandas")
    X, y = load_fashion_mnist(data_home=fake_home, subset="test", as_frame=True, return_X_y=True)
    assert list(X.columns[:2]) == ["pixel_0", "pixel_1"] and len(y) == N_TEST


def test_search_order_env_var_then_default(fake_home, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, str(fake_home))
    assert find_fashion_mnist() == fake_home
    assert find_fashion_mnist(fake_home / "nowhere") is None


def test_missing_files_say_how_to_install(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install -y dataset-fashion-mnist"):
        load_fashion_mnist(data_home=tmp_path)


@pytest.mark.parametrize("damage, message", [
    ("magic", "magic number"),
    ("truncate", "truncated or corrupt"),
    ("garbage", "corrupt"),
])
def test_corrupt_files_are_refused(fake_home, tmp_path, damage, message):
    for path in fake_home.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    target = tmp_path / "t10k-labels-idx1-ubyte.gz"
    labels = np.zeros(N_TEST, dtype=np.uint8)
    if damage == "magic":
        _write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels, 2051)
    elif damage == "truncate":  # the header promises N_TEST labels, five are missing
        header = struct.pack(">II", 2049, N_TEST)
        target.write_bytes(gzip.compress(header + labels[:-5].tobytes()))
    else:
        target.write_bytes(b"this is not gzip")
    with pytest.raises(OSError, match=message):
        load_fashion_mnist(data_home=tmp_path, subset="test")


def test_uncompressed_files_are_read(tmp_path):
    for prefix, n in (("train", N_TRAIN), ("t10k", N_TEST)):
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", np.zeros((n, 28, 28)), 2051, compress=False)
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", np.ones(n), 2049, compress=False)
    _, y = load_fashion_mnist(data_home=tmp_path, subset="test", return_X_y=True)
    assert np.all(y == 1)


@pytest.mark.parametrize("kwargs, message", [
    ({"subset": "validation"}, "subset"),
    ({"dtype": np.int32}, "dtype"),
])
def test_bad_arguments(fake_home, kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_fashion_mnist(data_home=fake_home, **kwargs)


def test_tour_data_falls_back_to_digits_and_subsamples(tmp_path):
    bunch = load_tour_data("auto", n_samples=50, data_home=tmp_path)
    assert bunch.name == "scikit-learn digits"
    assert bunch.data.shape == (50, 64) and bunch.data.dtype == np.float32
    assert 0.0 <= bunch.data.min() and bunch.data.max() <= 1.0
    again = load_tour_data("auto", n_samples=50, data_home=tmp_path)
    np.testing.assert_array_equal(bunch.data, again.data)


def test_tour_data_uses_fashion_mnist_when_present(fake_home):
    bunch = load_tour_data("auto", n_samples=30, data_home=fake_home)
    assert bunch.name == "Fashion-MNIST" and bunch.image_shape == (28, 28)
    with pytest.raises(ValueError, match="data must be"):
        load_tour_data("mnist")
