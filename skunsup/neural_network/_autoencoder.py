"""Autoencoders: compression, denoising (input noise) and sparse (KL penalty)."""

from numbers import Real

import numpy as np
from sklearn.utils.validation import check_is_fitted

from skunsup.neural_network._architectures import ARCHITECTURE_CONSTRAINTS, build_network
from skunsup.neural_network._base import BaseTorchEstimator
from skunsup.utils._sklearn_compat import Interval, StrOptions
from skunsup.utils._torch import import_torch


def kl_sparsity_penalty(codes, target, eps=1e-6):
    """Sum over coding units of KL(target || mean activation of the unit).

    Parameters
    ----------
    codes : torch.Tensor of shape (n_samples, n_components)
        Activations in (0, 1) of the coding layer for a batch.
    target : float
        The desired mean activation rho, in (0, 1).
    eps : float, default=1e-6
        The mean activations are clipped to ``[eps, 1 - eps]``.

    Returns
    -------
    penalty : torch.Tensor
        Scalar: ``sum_j rho log(rho / rho_j) + (1 - rho) log((1 - rho) / (1 - rho_j))``.
    """
    torch = import_torch()
    rho_hat = codes.mean(dim=0).clamp(eps, 1.0 - eps)
    rho = float(target)
    return (rho * torch.log(rho / rho_hat)
            + (1.0 - rho) * torch.log((1.0 - rho) / (1.0 - rho_hat))).sum()


class Autoencoder(BaseTorchEstimator):
    """Autoencoder for compression, or denoising with ``noise_std > 0``.

    The encoder maps a sample to a code of size ``n_components``, through
    ``hidden_layer_sizes`` (fully connected, the default), through strided
    convolutions (``architecture='conv'`` for images) or through your own
    torch module; the decoder maps it back. With ``loss='auto'`` data in
    [0, 1] are reconstructed with a sigmoid output and binary cross-entropy
    (trained on the logits, the numerically stable and faster form), other data
    with a linear output and mean squared error. ``noise_std > 0`` makes it a
    denoising autoencoder: Gaussian noise is added to every training batch
    (clipped to the training data's range) and the clean batch is the target.

    Read more in the :ref:`User Guide <autoencoders>`.

    Parameters
    ----------
    n_components : int, default=32
        Size of the code (the output of :meth:`transform`).
    hidden_layer_sizes : array-like of int, default=(128,)
        Widths of the encoder's hidden layers; the decoder uses them reversed.
        ``()`` gives a single-layer encoder and decoder. 'mlp' only.
    architecture : {'mlp', 'conv'}, default='mlp'
        The network built: 'mlp' is fully connected through
        ``hidden_layer_sizes``; 'conv' is for images of ``image_shape``:
        strided convolutions through ``channels`` (each halves the height and
        width, rounding up), a ``Linear`` to the code, and the mirror
        back (transposed convolutions).
    image_shape : tuple of int, default=None
        ``(channels, height, width)`` or ``(height, width)`` of the images X's
        rows hold (``X.reshape(-1, *image_shape)`` gives the images); one entry
        may be -1, inferred from n_features. Needed by 'conv'.
    channels : tuple of int, default=(32, 64)
        Output channels of the 'conv' encoder's convolutions; the decoder
        runs through them reversed.
    encoder : torch.nn.Module, class or callable, default=None
        Your own encoder, mapping ``(batch, n_features)`` to ``(batch,
        n_components)``: an instance (copied at fit; it starts from
        its own weights) or a class or callable called with no arguments at
        fit (seeded by ``random_state``). None builds the architecture's
        encoder. Checked on a batch of zeros at fit; see :ref:`the User Guide
        <architectures>`.
    decoder : torch.nn.Module, class or callable, default=None
        Your own decoder, mapping ``(batch, n_components)`` to ``(batch,
        n_features)`` logits (BCE) or means (MSE), given as ``encoder`` is.
        None builds the architecture's decoder.
    activation : {'relu', 'tanh', 'logistic', 'identity', 'elu', 'gelu'}, default='relu'
        Activation of the hidden layers (or convolutions) and of the code (as in
        the lecture's 784-128-32-128-784 model).
    output_activation : {'auto', 'sigmoid', 'identity'}, default='auto'
        Output of the decoder: 'auto' is 'sigmoid' for the BCE loss and
        'identity' for MSE.
    loss : {'auto', 'bce', 'mse'}, default='auto'
        Reconstruction loss: binary cross-entropy (data must lie in [0, 1]) or
        mean squared error; 'auto' picks BCE when the training data lie in [0, 1].
    noise_std : float, default=0.0
        Standard deviation of the Gaussian noise added to training inputs
        (denoising autoencoder); 0 disables it.
    batch_size : int, default=128
        Samples per optimiser step.
    max_epochs : int, default=50
        Passes over the data in :meth:`fit`.
    learning_rate : float, default=1e-3
        Step size of the optimiser.
    optimizer : {'adam', 'adamw', 'sgd', 'rmsprop'}, default='adam'
        torch optimiser ('sgd' uses Nesterov momentum 0.9).
    weight_decay : float, default=0.0
        L2 penalty (decoupled for 'adamw').
    learning_rate_schedule : {'constant', 'cosine', 'plateau'} or callable, \
            default='constant'
        How the learning rate changes from epoch to epoch: 'cosine' anneals it
        to 0 over ``max_epochs``; 'plateau' divides it by 10 when the monitored
        loss has not improved by ``tol`` for ``n_iter_no_change // 2`` epochs;
        a callable ``f(optimizer)`` returns a torch scheduler (e.g.
        ``functools.partial(torch.optim.lr_scheduler.StepLR, step_size=10)``),
        stepped once per epoch. Its state carries over warm starts.
    max_grad_norm : float or None, default=None
        Clip the gradient's global L2 norm to this value before every
        optimiser step (None: no clipping).
    shuffle : bool, default=True
        Shuffle the samples every epoch.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, stop when its loss stops
        improving and keep the weights of the best epoch.
    validation_fraction : float, default=0.1
        Share of the data held out for early stopping, in [0, 1) as in
        scikit-learn's MLP; unused without ``early_stopping`` (0 is then
        accepted; with ``early_stopping`` it must leave a sample on each side).
    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` (validation loss with
        early stopping, else training loss) before training stops.
    tol : float, default=1e-4
        Minimal improvement of the monitored loss.
    warm_start : bool, default=False
        Continue from the fitted weights (and optimiser state) on ``fit``.
    device : {'auto', 'cpu', 'cuda', 'mps'}, default='auto'
        Where to train; 'auto' is CUDA when available. The fitted module is
        kept on the CPU, so fitted models pickle and load anywhere.
    callbacks : list of objects, default=None
        Objects with ``on_train_begin(est)``, ``on_epoch_end(est, logs)``
        (return True to stop) and/or ``on_train_end(est)`` methods.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the shuffling, the noise and the validation split.
        The global torch random state is left untouched.
    verbose : int, default=0
        Show a progress bar (tqdm, if installed) with the loss.

    Attributes
    ----------
    module_ : torch.nn.ModuleDict
        The trained network (``"encoder"``, ``"decoder"``), on the CPU.
    reconstruction_loss_ : {'bce', 'mse'}
        The loss used (resolved from ``loss='auto'``).
    history_ : list of dict
        One entry per epoch: ``epoch``, ``train_loss``, ``valid_loss`` (with early
        stopping), ``time`` (seconds).
    loss_curve_ : list of float
        Training loss per epoch.
    best_loss_ : float
        Best monitored loss (validation with early stopping, else training).
    best_epoch_ : int
        Epoch of ``best_loss_``.
    n_iter_ : int
        Epochs run (cumulated over warm starts and ``partial_fit`` calls).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string feature names.

    See Also
    --------
    SparseAutoencoder : Autoencoder with a sparsity penalty on the code.
    VAE : Variational autoencoder.
    skunsup.decomposition.PCA : The linear counterpart.

    Notes
    -----
    Training costs O(n_samples * n_weights) per epoch. Losses are per input
    feature (mean over features and samples), so ``score`` compares across
    data sizes.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.neural_network import Autoencoder
    >>> X = np.random.default_rng(0).random((100, 16))
    >>> ae = Autoencoder(n_components=4, hidden_layer_sizes=(8,), max_epochs=3,
    ...                  random_state=0, device="cpu").fit(X)
    >>> ae.transform(X).shape
    (100, 4)
    >>> ae.reconstruction_loss_
    'bce'
    >>> ae.inverse_transform(ae.transform(X)).shape
    (100, 16)
    """

    _parameter_constraints: dict = {
        **BaseTorchEstimator._parameter_constraints,
        **ARCHITECTURE_CONSTRAINTS,
        "output_activation": [StrOptions({"auto", "sigmoid", "identity"})],
        "loss": [StrOptions({"auto", "bce", "mse"})],
        "noise_std": [Interval(Real, 0, None, closed="left")],
    }

    # Parameters written out, no **kwargs: scikit-learn's get_params and clone read
    # them from this signature, and __init__ only stores them (its convention).
    def __init__(
        self,
        n_components=32,
        *,
        hidden_layer_sizes=(128,),
        architecture="mlp",
        image_shape=None,
        channels=(32, 64),
        encoder=None,
        decoder=None,
        activation="relu",
        output_activation="auto",
        loss="auto",
        noise_std=0.0,
        batch_size=128,
        max_epochs=50,
        learning_rate=1e-3,
        optimizer="adam",
        weight_decay=0.0,
        learning_rate_schedule="constant",
        max_grad_norm=None,
        shuffle=True,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        warm_start=False,
        device="auto",
        callbacks=None,
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.architecture = architecture
        self.image_shape = image_shape
        self.channels = channels
        self.encoder = encoder
        self.decoder = decoder
        self.activation = activation
        self.output_activation = output_activation
        self.loss = loss
        self.noise_std = noise_std
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.learning_rate_schedule = learning_rate_schedule
        self.max_grad_norm = max_grad_norm
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.warm_start = warm_start
        self.device = device
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose

    # ----------------------------------------------------------------- hooks
    _code_activation = None  # None: use ``activation`` (the lecture's model)

    def _setup(self, X):
        loss = self._resolve_loss(X, bce_allowed=self.output_activation != "identity")
        if loss == "bce" and self.output_activation == "identity":
            raise ValueError("loss='bce' needs a sigmoid output; use output_activation="
                             "'auto' or 'sigmoid', or loss='mse'.")
        output = self.output_activation
        if output == "auto":
            output = "sigmoid" if loss == "bce" else "identity"
        self.reconstruction_loss_ = loss
        self._sigmoid_output = output == "sigmoid"
        if loss == "bce":
            self._clip_range = (0.0, 1.0)
        else:
            self._clip_range = (float(X.min()), float(X.max()))

    def _build_module(self, n_features):
        return build_network(self, n_features, self.n_components,
                             encoder_meaning="the code (n_components)",
                             code_activation=self._code_activation or self.activation,
                             user_code_activation=self._code_activation)

    def _corrupt(self, X, generator):
        if self.noise_std <= 0:
            return X
        torch = import_torch()
        noise = torch.randn(X.shape, generator=generator, device=X.device, dtype=X.dtype)
        return (X + self.noise_std * noise).clamp_(*self._clip_range)

    def _reconstruction(self, raw, X, reduction):
        """Reconstruction loss of decoder outputs ``raw`` (logits / means) against X."""
        F = import_torch().nn.functional
        if self.reconstruction_loss_ == "bce":
            return F.binary_cross_entropy_with_logits(raw, X, reduction=reduction)
        return F.mse_loss(self._output(raw), X, reduction=reduction)

    def _loss(self, module, X_batch, generator):
        codes = module["encoder"](self._corrupt(X_batch, generator))
        loss = self._reconstruction(module["decoder"](codes), X_batch, "mean")
        return loss, {}

    def _sample_losses(self, module, X_chunk, generator):
        raw = module["decoder"](module["encoder"](X_chunk))
        return self._reconstruction(raw, X_chunk, "none").mean(dim=1)

    def _output(self, raw):
        return torch_sigmoid(raw) if self._sigmoid_output else raw

    # --------------------------------------------------------------- public
    def score(self, X, y=None):
        """Negative mean reconstruction loss per feature (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to reconstruct (without input noise).
        y : None
            Ignored, present for API consistency.

        Returns
        -------
        score : float
            Minus the mean BCE (or squared error) per feature and sample.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import Autoencoder
        >>> X = np.random.default_rng(0).random((60, 8))
        >>> ae = Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_epochs=2,
        ...                  random_state=0, device="cpu").fit(X)
        >>> bool(ae.score(X) < 0)
        True
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        losses = self._inference(self._sample_losses, X)
        return -float(np.mean(losses))


def torch_sigmoid(tensor):
    """Logistic function of a tensor."""
    return import_torch().sigmoid(tensor)


class SparseAutoencoder(Autoencoder):
    """Autoencoder with a sigmoid code kept sparse by a KL penalty.

    The loss is the reconstruction loss plus ``sparsity_weight`` times
    ``sum_j KL(rho || rho_j)``, where ``rho_j`` is the mean activation of
    coding unit ``j`` over the batch and ``rho = sparsity_target``.

    Read more in the :ref:`User Guide <sparse_autoencoder>`.

    Parameters
    ----------
    n_components : int, default=64
        Number of coding units (a sparse code may be wider than the input).
    hidden_layer_sizes : array-like of int, default=(128,)
        Widths of the encoder's hidden layers; the decoder uses them reversed.
        'mlp' only.
    architecture : {'mlp', 'conv'}, default='mlp'
        The network built: 'mlp' is fully connected through
        ``hidden_layer_sizes``; 'conv' is for images of ``image_shape``:
        strided convolutions through ``channels`` (each halves the height and
        width, rounding up), a ``Linear`` to the (sigmoid) code, and the
        mirror back (transposed convolutions).
    image_shape : tuple of int, default=None
        ``(channels, height, width)`` or ``(height, width)`` of the images X's
        rows hold (``X.reshape(-1, *image_shape)`` gives the images); one entry
        may be -1, inferred from n_features. Needed by 'conv'.
    channels : tuple of int, default=(32, 64)
        Output channels of the 'conv' encoder's convolutions; the decoder
        runs through them reversed.
    encoder : torch.nn.Module, class or callable, default=None
        Your own encoder, mapping ``(batch, n_features)`` to ``(batch,
        n_components)`` before the sigmoid that the estimator appends (the
        sparse code lies in (0, 1)): an instance (copied at fit; it starts
        from its own weights) or a class or callable called with no arguments
        at fit (seeded by ``random_state``). None builds the architecture's
        encoder. Checked on a batch of zeros at fit; see :ref:`the User Guide
        <architectures>`.
    decoder : torch.nn.Module, class or callable, default=None
        Your own decoder, mapping ``(batch, n_components)`` to ``(batch,
        n_features)`` logits (BCE) or means (MSE), given as ``encoder`` is.
        None builds the architecture's decoder.
    sparsity_target : float, default=0.05
        Desired mean activation rho of each coding unit, in (0, 1).
    sparsity_weight : float, default=0.1
        Weight beta of the KL penalty. The reconstruction loss is a mean per
        feature, so beta is on that scale; the default makes the mean code
        activation end near ``sparsity_target`` (see ``mean_activation_``).
    activation : {'relu', 'tanh', 'logistic', 'identity', 'elu', 'gelu'}, default='relu'
        Activation of the hidden layers or convolutions (the code is always
        sigmoid).
    output_activation : {'auto', 'sigmoid', 'identity'}, default='auto'
        As in :class:`Autoencoder`.
    loss : {'auto', 'bce', 'mse'}, default='auto'
        As in :class:`Autoencoder`.
    noise_std : float, default=0.0
        As in :class:`Autoencoder` (sparse and denoising combine).
    batch_size : int, default=128
        Samples per optimiser step (and per sparsity estimate).
    max_epochs : int, default=50
        Passes over the data in :meth:`fit`.
    learning_rate : float, default=1e-3
        Step size of the optimiser.
    optimizer : {'adam', 'adamw', 'sgd', 'rmsprop'}, default='adam'
        torch optimiser.
    weight_decay : float, default=0.0
        L2 penalty.
    learning_rate_schedule : {'constant', 'cosine', 'plateau'} or callable, \
            default='constant'
        How the learning rate changes from epoch to epoch: 'cosine' anneals it
        to 0 over ``max_epochs``; 'plateau' divides it by 10 when the monitored
        loss has not improved by ``tol`` for ``n_iter_no_change // 2`` epochs;
        a callable ``f(optimizer)`` returns a torch scheduler (e.g.
        ``functools.partial(torch.optim.lr_scheduler.StepLR, step_size=10)``),
        stepped once per epoch. Its state carries over warm starts.
    max_grad_norm : float or None, default=None
        Clip the gradient's global L2 norm to this value before every
        optimiser step (None: no clipping).
    shuffle : bool, default=True
        Shuffle the samples every epoch.
    early_stopping : bool, default=False
        Stop on a held-out validation loss and keep the best weights.
    validation_fraction : float, default=0.1
        Share of the data held out for early stopping, in [0, 1) as in
        scikit-learn's MLP; unused without ``early_stopping`` (0 is then
        accepted; with ``early_stopping`` it must leave a sample on each side).
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.
    tol : float, default=1e-4
        Minimal improvement of the monitored loss.
    warm_start : bool, default=False
        Continue from the fitted weights on ``fit``.
    device : {'auto', 'cpu', 'cuda', 'mps'}, default='auto'
        Where to train.
    callbacks : list of objects, default=None
        See :class:`Autoencoder`.
    random_state : int, RandomState instance or None, default=None
        Seeds everything random in the fit.
    verbose : int, default=0
        Show a progress bar.

    Attributes
    ----------
    mean_activation_ : float
        Mean activation of the code over the training data after fit: compare
        it with ``sparsity_target``.
    module_ : torch.nn.ModuleDict
        The trained network, on the CPU.
    reconstruction_loss_ : {'bce', 'mse'}
        The loss used.
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``reconstruction``, ``sparsity``
        (the KL sum), ``valid_loss`` (with early stopping), ``time``.
    loss_curve_ : list of float
        Training loss per epoch.
    best_loss_ : float
        Best monitored loss.
    best_epoch_ : int
        Epoch of ``best_loss_``.
    n_iter_ : int
        Epochs run.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string feature names.

    See Also
    --------
    Autoencoder : Without the sparsity penalty.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.neural_network import SparseAutoencoder
    >>> X = np.random.default_rng(0).random((100, 16))
    >>> sae = SparseAutoencoder(n_components=8, hidden_layer_sizes=(8,), max_epochs=3,
    ...                         random_state=0, device="cpu").fit(X)
    >>> sae.transform(X).shape
    (100, 8)
    >>> 0.0 < sae.mean_activation_ < 1.0
    True
    """

    _parameter_constraints: dict = {
        **Autoencoder._parameter_constraints,
        "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
        "sparsity_weight": [Interval(Real, 0, None, closed="left")],
    }

    _code_activation = "logistic"

    # Autoencoder's parameters written out again (no **kwargs): scikit-learn's
    # get_params and clone read an estimator's parameters from its own signature.
    def __init__(
        self,
        n_components=64,
        *,
        hidden_layer_sizes=(128,),
        architecture="mlp",
        image_shape=None,
        channels=(32, 64),
        encoder=None,
        decoder=None,
        sparsity_target=0.05,
        sparsity_weight=0.1,
        activation="relu",
        output_activation="auto",
        loss="auto",
        noise_std=0.0,
        batch_size=128,
        max_epochs=50,
        learning_rate=1e-3,
        optimizer="adam",
        weight_decay=0.0,
        learning_rate_schedule="constant",
        max_grad_norm=None,
        shuffle=True,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        warm_start=False,
        device="auto",
        callbacks=None,
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            n_components=n_components, hidden_layer_sizes=hidden_layer_sizes,
            architecture=architecture, image_shape=image_shape, channels=channels,
            encoder=encoder, decoder=decoder, activation=activation,
            output_activation=output_activation, loss=loss,
            noise_std=noise_std, batch_size=batch_size, max_epochs=max_epochs,
            learning_rate=learning_rate, optimizer=optimizer, weight_decay=weight_decay,
            learning_rate_schedule=learning_rate_schedule, max_grad_norm=max_grad_norm,
            shuffle=shuffle, early_stopping=early_stopping,
            validation_fraction=validation_fraction, n_iter_no_change=n_iter_no_change,
            tol=tol, warm_start=warm_start, device=device, callbacks=callbacks,
            random_state=random_state, verbose=verbose,
        )
        self.sparsity_target = sparsity_target
        self.sparsity_weight = sparsity_weight

    def _loss(self, module, X_batch, generator):
        codes = module["encoder"](self._corrupt(X_batch, generator))
        reconstruction = self._reconstruction(module["decoder"](codes), X_batch, "mean")
        penalty = kl_sparsity_penalty(codes, self.sparsity_target)
        loss = reconstruction + self.sparsity_weight * penalty
        return loss, {"reconstruction": reconstruction, "sparsity": penalty}

    def _after_fit(self, X_tensor):
        total, n_rows = 0.0, X_tensor.shape[0]
        for start in range(0, n_rows, 8192):
            total += float(self.module_["encoder"](X_tensor[start:start + 8192]).mean(1).sum())
        self.mean_activation_ = total / n_rows
