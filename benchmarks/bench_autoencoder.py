"""Autoencoder epoch time and test loss: skunsup vs a hand-written torch loop and friends.

The lecture's model (784-128-32-128-784, relu, sigmoid output, BCE, Adam 1e-3) on
Fashion-MNIST (60k train, 10k test), 10 epochs at batch 256. Contenders, interleaved
in the same process (rotating order each round, medians reported):

- skunsup ``Autoencoder`` (BCE on logits, randperm batches of an in-memory tensor);
- the minimal hand-written loop as the lecture writes it (Sigmoid + BCELoss, randperm);
- the same loop through ``torch.utils.data.DataLoader(TensorDataset)``;
- skorch ``NeuralNetRegressor`` (if installed) on the same module;
- scikit-learn ``MLPRegressor`` fitted X -> X (linear output, MSE; float32).

Then, once each: the denoising autoencoder (noise_std=0.1) and the sparse autoencoder
with its default penalty (its mean code activation must end within 2x of the target).

A second table (``autoencoder_conv``) times the convolutional autoencoder
(``architecture='conv'``, ``image_shape=(1, 28, 28)``, the default ``channels=(32, 64)``,
code 32) against the same network written out by hand in a minimal loop (Sigmoid +
BCELoss, randperm batches), and that loop with channels-last weights (the memory
layout skunsup's conv networks use), interleaved, on a training subset
(``--conv-train``, 10,000 images by default) for ``--conv-epochs`` (5) epochs at batch
256, tested on the whole test set (sized to take minutes on 2 cores). ``--conv-only``
runs only this table.

Every pool (torch's, and the BLAS of ``MLPRegressor``) runs ``--threads``
threads, 1 by default (``TORCH_THREADS`` of the harness says why).

    python benchmarks/bench_autoencoder.py            # full run, records RESULTS.md
    python benchmarks/bench_autoencoder.py --quick    # smoke run (small data, no record)
    python benchmarks/bench_autoencoder.py --conv-only   # the conv table alone
    python benchmarks/bench_autoencoder.py --device cuda --json-out out.json
    python benchmarks/bench_autoencoder.py --from-json out.json --name autoencoder_cuda

(``--from-json`` reads ``gpu.txt`` beside the JSON, as benchmarks/gpu_check.sh writes it.)
"""

import functools
import os
import time
import warnings

import numpy as np
from _harness import TORCH_THREADS, interleave, load_fashion_mnist_float32, main, median


def lecture_module(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 32), nn.ReLU(),
        nn.Linear(32, 128), nn.ReLU(), nn.Linear(128, 784), nn.Sigmoid(),
    )


def hand_conv_module(torch, n_code=32):
    """skunsup's conv autoencoder for image_shape=(1, 28, 28), channels=(32, 64), by hand."""
    nn = torch.nn
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 32, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(64 * 7 * 7, n_code), nn.ReLU(),
        nn.Linear(n_code, 64 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
        nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1),
        nn.Flatten(), nn.Sigmoid(),
    )


def test_losses(torch, predict, X_test):
    """(BCE per pixel, MSE per pixel) of probabilities ``predict(X_test)``."""
    with torch.no_grad():
        X_t = torch.from_numpy(X_test)
        out = torch.from_numpy(np.asarray(predict(X_test), dtype=np.float32))
        bce = float(torch.nn.functional.binary_cross_entropy(out.clamp(1e-7, 1 - 1e-7), X_t))
        mse = float(torch.nn.functional.mse_loss(out, X_t))
    return bce, mse


def hand_loop(torch, X, epochs, batch_size, device, seed, dataloader=False,
              make_module=lecture_module, channels_last=False):
    torch.manual_seed(seed)
    model = make_module(torch).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = torch.nn.BCELoss()
    X_t = torch.from_numpy(X).to(device)
    if dataloader:
        from torch.utils.data import DataLoader, TensorDataset

        loader = DataLoader(TensorDataset(X_t), batch_size=batch_size, shuffle=True)
    for _ in range(epochs):
        if dataloader:
            batches = (b for (b,) in loader)
        else:
            perm = torch.randperm(len(X_t), device=device)
            batches = (X_t[perm[i:i + batch_size]] for i in range(0, len(X_t), batch_size))
        for batch in batches:
            optimizer.zero_grad()
            loss = criterion(model(batch), batch)
            loss.backward()
            optimizer.step()
    if device != "cpu":
        torch.cuda.synchronize()
    model = model.cpu().eval()
    return lambda Z: model(torch.from_numpy(Z)).numpy()


def add_arguments(parser):
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=None,
                        help="interleaved rounds (default: 2, 1 with --quick)")
    parser.add_argument("--conv-only", action="store_true",
                        help="run only the convolutional table")
    parser.add_argument("--conv-train", type=int, default=10_000,
                        help="training images of the conv table (default: %(default)s)")
    parser.add_argument("--conv-epochs", type=int, default=5,
                        help="epochs of the conv table (default: %(default)s)")


def run(args, report):
    import torch

    X_train, _ = load_fashion_mnist_float32("train")
    X_test, _ = load_fashion_mnist_float32("test")
    if not args.conv_only:
        run_mlp(args, report, torch, X_train, X_test)
    run_conv(args, report, torch, X_train, X_test)


def _load_note(notes):
    if hasattr(os, "getloadavg"):
        notes += (f" Load average of the machine at the end of the run: "
                  f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.")
    return notes


def run_conv(args, report, torch, X_train, X_test):
    """The conv table: skunsup's conv autoencoder vs the same network in a hand loop."""
    from skunsup.neural_network import Autoencoder

    epochs, batch, device = args.conv_epochs, 256, args.device
    repeats = args.repeats or (1 if args.quick else 2)
    X_train = X_train[:args.conv_train]
    if args.quick:
        X_train, X_test, epochs = X_train[:1000], X_test[:500], 1
    conv = dict(n_components=32, architecture="conv", image_shape=(1, 28, 28),
                channels=(32, 64), batch_size=batch, learning_rate=1e-3, tol=0.0,
                n_iter_no_change=epochs + 1, device=device)
    hand = functools.partial(hand_conv_module, n_code=32)
    contenders = {
        "skunsup Autoencoder(architecture='conv')": lambda: Autoencoder(
            max_epochs=epochs, random_state=0, **conv).fit(X_train),
        "hand loop (Sigmoid + BCELoss)": lambda: hand_loop(torch, X_train, epochs, batch,
                                                           device, 0, make_module=hand),
        "hand loop, channels-last weights": lambda: hand_loop(
            torch, X_train, epochs, batch, device, 0, make_module=hand, channels_last=True),
    }
    # warm-up (lazy imports, oneDNN's first-call setup) outside the timings
    warm = Autoencoder(max_epochs=1, random_state=0, **conv).fit(X_train[:512])
    hand_loop(torch, X_train[:512], 1, batch, device, 0, make_module=hand)
    ours_shapes = [tuple(p.shape) for p in warm.module_.parameters()]
    hand_shapes = [tuple(p.shape) for p in hand(torch).parameters()]
    assert ours_shapes == hand_shapes, "the hand loop must train skunsup's conv network"

    times, results = interleave(contenders, repeats=repeats)
    hand_time = median(times["hand loop (Sigmoid + BCELoss)"]) / epochs
    rows = []
    for name, result in results.items():
        predict = (lambda Z, est=result: est.inverse_transform(est.transform(Z))) if hasattr(
            result, "transform") else result
        bce, mse = test_losses(torch, predict, X_test)
        per_epoch = median(times[name]) / epochs
        rows.append({"method": name, "device": device, "s/epoch (median)": per_epoch,
                     "vs hand loop": per_epoch / hand_time, "test BCE/pixel": bce,
                     "test MSE/pixel": mse, "runs": len(times[name])})
    notes = _load_note(
        f"Fashion-MNIST, the first {len(X_train)} training images (a subset, so that the "
        f"table takes minutes) and {len(X_test)} test images; {epochs} epochs at batch "
        f"{batch}, Adam 1e-3; torch {torch.__version__}, threads {args.threads}. The "
        "network: image_shape=(1, 28, 28), channels=(32, 64) (3x3 convolutions with stride "
        "2: 28 -> 14 -> 7), Linear 3136 -> 32 (relu code), and the mirror (Linear, two "
        "4x4 transposed convolutions with stride 2), the same parameter shapes in every "
        "contender (asserted). s/epoch = wall time of the whole training / epochs, median "
        "over interleaved runs. Goal (issue 19): skunsup <= 0.8x the hand loop at the "
        "same test BCE. The channels-last row is the hand loop with its weights in the "
        "memory layout skunsup uses.")
    report(rows, notes=notes, part="conv")


def run_mlp(args, report, torch, X_train, X_test):
    """The lecture's MLP autoencoder against the hand loops, skorch and scikit-learn."""
    from sklearn.neural_network import MLPRegressor

    from skunsup.neural_network import Autoencoder, SparseAutoencoder

    epochs, batch = args.epochs, 256
    repeats = args.repeats or (1 if args.quick else 2)
    if args.quick:
        X_train, X_test, epochs = X_train[:5000], X_test[:1000], min(epochs, 2)
    device = args.device
    cuda = device != "cpu"

    def ours(cls=Autoencoder, **extra):
        def run():
            kw = dict(n_components=32, hidden_layer_sizes=(128,), max_epochs=epochs,
                      batch_size=batch, learning_rate=1e-3, tol=0.0,
                      n_iter_no_change=epochs + 1, device=device, random_state=0)
            est = cls(**{**kw, **extra}).fit(X_train)
            return est
        return run

    contenders = {
        "skunsup Autoencoder": ours(),
        "hand loop (Sigmoid + BCELoss)": lambda: hand_loop(torch, X_train, epochs, batch,
                                                           device, 0),
        "hand loop via DataLoader": lambda: hand_loop(torch, X_train, epochs, batch, device,
                                                      0, dataloader=True),
    }
    try:
        import skorch

        def run_skorch():
            net = skorch.NeuralNetRegressor(
                lecture_module(torch), criterion=torch.nn.BCELoss, optimizer=torch.optim.Adam,
                lr=1e-3, max_epochs=epochs, batch_size=batch, train_split=None,
                iterator_train__shuffle=True, verbose=0, device=device)
            torch.manual_seed(0)
            net.fit(X_train, X_train)
            return lambda Z: net.forward(Z, training=False).numpy()

        contenders[f"skorch {skorch.__version__} NeuralNetRegressor"] = run_skorch
    except ImportError:
        skorch = None
    if not cuda:
        def run_mlp():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mlp = MLPRegressor(hidden_layer_sizes=(128, 32, 128), batch_size=batch,
                                   max_iter=epochs, learning_rate_init=1e-3, tol=0.0,
                                   n_iter_no_change=epochs + 1, random_state=0)
                mlp.fit(X_train, X_train)
            return mlp.predict

        contenders["scikit-learn MLPRegressor X->X (MSE)"] = run_mlp

    # warm-up (lazy imports, first-call allocations) outside the timings
    Autoencoder(n_components=4, hidden_layer_sizes=(8,), max_epochs=1, device=device,
                random_state=0).fit(X_train[:512])
    times, results = interleave(contenders, repeats=repeats)
    hand = median(times["hand loop (Sigmoid + BCELoss)"]) / epochs
    rows = []
    for name, result in results.items():
        predict = (lambda Z, est=result: est.inverse_transform(est.transform(Z))) if hasattr(
            result, "transform") else result
        bce, mse = test_losses(torch, predict, X_test)
        per_epoch = median(times[name]) / epochs
        rows.append({
            "method": name, "device": device, "s/epoch (median)": per_epoch,
            "vs hand loop": per_epoch / hand, "test BCE/pixel": bce if "MLP" not in name else "",
            "test MSE/pixel": mse, "runs": len(times[name]),
        })
    for label, cls, extra in [("skunsup Autoencoder, denoising noise_std=0.1", Autoencoder,
                               {"noise_std": 0.1}),
                              ("skunsup SparseAutoencoder (default rho=0.05, beta)",
                               SparseAutoencoder, {"n_components": 64})]:
        start = time.perf_counter()
        est = ours(cls, **extra)()
        per_epoch = (time.perf_counter() - start) / epochs
        bce, mse = test_losses(torch, lambda Z, e=est: e.inverse_transform(e.transform(Z)),
                               X_test)
        row = {"method": label, "device": device, "s/epoch (median)": per_epoch,
               "vs hand loop": per_epoch / hand, "test BCE/pixel": bce, "test MSE/pixel": mse,
               "runs": 1}
        if hasattr(est, "mean_activation_"):
            row["mean code activation"] = est.mean_activation_
        rows.append(row)

    info = f"torch {torch.__version__}"
    if cuda:
        info += f", GPU {torch.cuda.get_device_name(0)}"
    notes = (
        f"Fashion-MNIST {len(X_train)} train / {len(X_test)} test, {epochs} epochs, batch "
        f"{batch}, the lecture's 784-128-32-128-784 model, Adam 1e-3; {info}; torch "
        f"threads {args.threads} (and BLAS threads {args.threads} for MLPRegressor). "
        "s/epoch = wall time of the whole training / epochs, median over interleaved runs "
        "(rotating order). Goal (DESIGN.md): skunsup <= 0.8x the hand loop at the same test "
        "BCE. Test losses are of the last run of each contender. Sparse row: "
        "SparseAutoencoder's default sparsity_target and sparsity_weight with 64 sigmoid "
        "units; its mean code activation must end within 2x of 0.05."
    )
    report(rows, notes=_load_note(notes))


if __name__ == "__main__":
    main(__doc__, run, name="autoencoder", add_arguments=add_arguments,
         threads=TORCH_THREADS)
