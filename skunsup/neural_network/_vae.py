"""The variational autoencoder: ELBO training, sampling, interpolation, attribute vectors."""

import math
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from skunsup.neural_network._architectures import ARCHITECTURE_CONSTRAINTS, build_network
from skunsup.neural_network._base import BaseTorchEstimator
from skunsup.neural_network._gaussian import (
    LOG_2PI,
    N_SCORE_DRAWS,
    gaussian_kl,
    reparameterize,
    row_keyed_normals,
)
from skunsup.utils._sklearn_compat import Interval, StrOptions
from skunsup.utils._torch import import_torch

class VAE(BaseTorchEstimator):
    """Variational autoencoder with a Gaussian encoder and a standard normal prior.

    The encoder maps x to the mean ``mu`` and log-variance ``log sigma^2`` of
    q(z | x); training draws ``z = mu + sigma * eps`` with ``eps ~ N(0, I)`` (the
    reparameterisation; the lecture's slide writes sigma^2, the paper and this
    code use the standard deviation sigma) and maximises the evidence lower bound
    ELBO = E_q[log p(x | z)] - KL(q(z | x) || N(0, I)), the KL in closed form.
    ``beta`` weighs the KL term (beta-VAE; 1 is the VAE).

    Read more in the :ref:`User Guide <vae>`.

    Parameters
    ----------
    n_components : int, default=20
        Dimension of the latent space (the output of :meth:`transform`).
    hidden_layer_sizes : array-like of int, default=(400,)
        Widths of the encoder's hidden layers; the decoder uses them reversed.
        'mlp' only.
    architecture : {'mlp', 'conv'}, default='mlp'
        The network built: 'mlp' is fully connected through
        ``hidden_layer_sizes``; 'conv' is for images of ``image_shape``:
        strided convolutions through ``channels`` (each halves the height and
        width, rounding up), a ``Linear`` to ``[mu, log_var]``, and the mirror
        back (transposed convolutions).
    image_shape : tuple of int, default=None
        ``(channels, height, width)`` or ``(height, width)`` of the images X's
        rows hold (``X.reshape(-1, *image_shape)`` gives the images); one entry
        may be -1, inferred from n_features. Needed by 'conv'.
    channels : tuple of int, default=(32, 64)
        Output channels of the 'conv' encoder's convolutions; the decoder
        runs through them reversed.
    encoder : torch.nn.Module, class or callable, default=None
        Your own encoder, mapping ``(batch, n_features)`` to ``(batch, 2 *
        n_components)``: ``mu`` then ``log_var`` side by side. An instance
        (copied at fit; it starts from its own weights) or a class or callable
        called with no arguments at fit (seeded by ``random_state``). None
        builds the architecture's encoder. Checked on a batch of zeros at fit;
        see :ref:`the User Guide <architectures>`.
    decoder : torch.nn.Module, class or callable, default=None
        Your own decoder, mapping ``(batch, n_components)`` to ``(batch,
        n_features)`` logits ('bce') or means ('mse'), given as ``encoder``
        is. None builds the architecture's decoder.
    activation : {'relu', 'tanh', 'logistic', 'identity', 'elu', 'gelu'}, default='relu'
        Activation of the hidden layers or convolutions.
    loss : {'auto', 'bce', 'mse'}, default='auto'
        Likelihood p(x | z): 'bce' is a Bernoulli with the decoder's logits (data
        in [0, 1]); 'mse' a Gaussian with the decoder's output as mean and unit
        variance (standardise the data first). 'auto' picks 'bce' when the
        training data lie in [0, 1].
    beta : float, default=1.0
        Weight of the KL term in the training loss; 0 gives a (noisy)
        autoencoder. ``score`` always reports the true ELBO (beta = 1).
    batch_size : int, default=128
        Samples per optimiser step.
    max_epochs : int, default=50
        Passes over the data in :meth:`fit`.
    learning_rate : float, default=1e-3
        Step size of the optimiser.
    optimizer : {'adam', 'adamw', 'sgd', 'rmsprop'}, default='adam'
        torch optimiser ('sgd' uses Nesterov momentum 0.9).
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
        Hold out ``validation_fraction`` of the data, stop when its loss stops
        improving and keep the weights of the best epoch.
    validation_fraction : float, default=0.1
        Share of the data held out for early stopping, in [0, 1) as in
        scikit-learn's MLP; unused without ``early_stopping`` (0 is then
        accepted; with ``early_stopping`` it must leave a sample on each side).
    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` before stopping.
    tol : float, default=1e-4
        Minimal improvement of the monitored loss (nats per sample).
    warm_start : bool, default=False
        Continue from the fitted weights (and optimiser state) on ``fit``.
    device : {'auto', 'cpu', 'cuda', 'mps'}, default='auto'
        Where to train; 'auto' is CUDA when available. The fitted module is kept
        on the CPU.
    callbacks : list of objects, default=None
        Objects with ``on_train_begin(est)``, ``on_epoch_end(est, logs)``
        (return True to stop) and/or ``on_train_end(est)`` methods.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the shuffling, the latent draws and the validation
        split; the global torch random state is left untouched.
    verbose : int, default=0
        Show a progress bar (tqdm, if installed) with the loss.

    Attributes
    ----------
    module_ : torch.nn.ModuleDict
        The trained network (``"encoder"`` returning ``[mu, log_var]``,
        ``"decoder"``), on the CPU.
    reconstruction_loss_ : {'bce', 'mse'}
        The likelihood used (resolved from ``loss='auto'``).
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss`` (reconstruction + beta * KL, nats per
        sample), ``reconstruction``, ``kl`` (watch it for posterior collapse),
        ``valid_loss`` (with early stopping), ``time`` (seconds).
    loss_curve_ : list of float
        Training loss per epoch.
    best_loss_ : float
        Best monitored loss.
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
    Autoencoder : Deterministic autoencoder.

    Notes
    -----
    ``score`` and ``score_samples`` estimate the ELBO with 4 draws of eps per
    sample, drawn from a hash of the sample's values: a sample's score does not
    depend on the batch or the order it is scored in. :meth:`log_likelihood`
    gives the tighter importance-weighted bound (IWAE). Losses are in nats per
    sample (sums over features).

    References
    ----------
    D. P. Kingma and M. Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
    Y. Burda, R. Grosse and R. Salakhutdinov, "Importance Weighted Autoencoders",
    ICLR 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.neural_network import VAE
    >>> X = (np.random.default_rng(0).random((100, 16)) > 0.5).astype(float)
    >>> vae = VAE(n_components=2, hidden_layer_sizes=(8,), max_epochs=3,
    ...           random_state=0, device="cpu").fit(X)
    >>> vae.transform(X).shape
    (100, 2)
    >>> vae.sample(5, random_state=0).shape
    (5, 16)
    >>> vae.interpolate(X[0], X[1], n_steps=4).shape
    (4, 16)
    >>> bool(vae.score(X) < 0)
    True
    """

    _parameter_constraints: dict = {
        **BaseTorchEstimator._parameter_constraints,
        **ARCHITECTURE_CONSTRAINTS,
        "loss": [StrOptions({"auto", "bce", "mse"})],
        "beta": [Interval(Real, 0, None, closed="left")],
    }

    # Parameters written out, no **kwargs: scikit-learn's get_params and clone read
    # them from this signature, and __init__ only stores them (its convention).
    def __init__(
        self,
        n_components=20,
        *,
        hidden_layer_sizes=(400,),
        architecture="mlp",
        image_shape=None,
        channels=(32, 64),
        encoder=None,
        decoder=None,
        activation="relu",
        loss="auto",
        beta=1.0,
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
        self.loss = loss
        self.beta = beta
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
    def _setup(self, X):
        self.reconstruction_loss_ = self._resolve_loss(X)
        self._output_dtype = X.dtype

    def _build_module(self, n_features):
        return build_network(self, n_features, 2 * self.n_components,
                             encoder_meaning="mu then log_var (2 * n_components)")

    # a conditional subclass reads ``condition`` in these two hooks
    def _posterior(self, module, X, *condition):
        return module["encoder"](X).chunk(2, dim=1)

    def _decoder_output(self, module, Z, *condition):
        return module["decoder"](Z)

    def _neg_log_likelihood(self, raw, X):
        """-log p(X | z) per sample (nats) from decoder outputs ``raw``."""
        F = import_torch().nn.functional
        if self.reconstruction_loss_ == "bce":
            return F.binary_cross_entropy_with_logits(raw, X, reduction="none").sum(dim=1)
        return 0.5 * (raw - X).pow(2).sum(dim=1) + 0.5 * X.shape[1] * LOG_2PI

    def _posterior_draw(self, module, X, generator, *condition):
        """``mu``, ``log_var`` of q(z | X) and the decoder's output for one draw of z."""
        torch = import_torch()
        mu, log_var = self._posterior(module, X, *condition)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu, log_var, self._decoder_output(
            module, reparameterize(mu, log_var, eps), *condition)

    def _loss(self, module, X_batch, generator, *condition):
        mu, log_var, raw = self._posterior_draw(module, X_batch, generator, *condition)
        n = X_batch.shape[0]
        if self.reconstruction_loss_ == "bce":  # one fused reduction (fewer GPU kernels)
            F = import_torch().nn.functional
            reconstruction = F.binary_cross_entropy_with_logits(raw, X_batch,
                                                                reduction="sum") / n
        else:
            reconstruction = self._neg_log_likelihood(raw, X_batch).sum() / n
        # gaussian_kl summed over the batch in one reduction, for the same reason
        kl = 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1.0).sum() / n
        return reconstruction + self.beta * kl, {"reconstruction": reconstruction, "kl": kl}

    def _sample_losses(self, module, X_chunk, generator, *condition):
        mu, log_var, raw = self._posterior_draw(module, X_chunk, generator, *condition)
        return self._neg_log_likelihood(raw, X_chunk) + self.beta * gaussian_kl(mu, log_var)

    def _encode(self, module, X):
        return self._posterior(module, X)[0]

    def _output(self, raw):
        return import_torch().sigmoid(raw) if self.reconstruction_loss_ == "bce" else raw

    # ---------------------------------------------------------------- scores
    def score_samples(self, X):
        """Evidence lower bound (ELBO) of every sample, in nats (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        elbo : ndarray of shape (n_samples,)
            ``E_q[log p(x | z)] - KL(q(z | x) || p(z))`` estimated with 4 draws.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import VAE
        >>> X = (np.random.default_rng(0).random((60, 16)) > 0.5).astype(float)
        >>> vae = VAE(n_components=2, hidden_layer_sizes=(8,), max_epochs=2,
        ...           random_state=0, device="cpu").fit(X)
        >>> vae.score_samples(X[:3]).shape
        (3,)
        """
        check_is_fitted(self)
        return self._elbo(self._validate_X(X, reset=False))

    def _elbo(self, X, *condition):
        """Per-sample ELBO of validated X (given the row-aligned ``condition``)."""
        eps = row_keyed_normals(X, self._seed, (N_SCORE_DRAWS, self.n_components))

        def elbo(module, X_chunk, eps_chunk, *rest):
            *cond, _ = rest  # the condition's chunks, then the generator
            mu, log_var = self._posterior(module, X_chunk, *cond)
            log_lik = 0.0
            for draw in range(eps_chunk.shape[1]):
                z = reparameterize(mu, log_var, eps_chunk[:, draw])
                log_lik = log_lik - self._neg_log_likelihood(
                    self._decoder_output(module, z, *cond), X_chunk)
            return log_lik / eps_chunk.shape[1] - gaussian_kl(mu, log_var)

        return self._inference(elbo, X, eps, *condition, double=True)

    def score(self, X, y=None):
        """Mean ELBO per sample in nats (higher is better; for model selection).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.
        y : None
            Ignored, present for API consistency.

        Returns
        -------
        score : float
            Mean of :meth:`score_samples`.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import VAE
        >>> X = (np.random.default_rng(0).random((60, 16)) > 0.5).astype(float)
        >>> vae = VAE(n_components=2, hidden_layer_sizes=(8,), max_epochs=2,
        ...           random_state=0, device="cpu").fit(X)
        >>> bool(vae.score(X) < 0)
        True
        """
        return float(np.mean(self.score_samples(X)))

    def log_likelihood(self, X, n_importance_samples=64, random_state=None):
        """Importance-weighted estimate of log p(x) per sample (the IWAE bound), nats.

        ``log (1/k) sum_i p(x, z_i) / q(z_i | x)`` with ``z_i ~ q(z | x)``: a lower
        bound of log p(x) that tightens as ``k = n_importance_samples`` grows and
        equals the ELBO (in expectation) for k = 1.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to evaluate.
        n_importance_samples : int, default=64
            Number k of posterior draws per sample.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws.

        Returns
        -------
        log_px : ndarray of shape (n_samples,)
            The estimate for every sample.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import VAE
        >>> X = (np.random.default_rng(0).random((60, 16)) > 0.5).astype(float)
        >>> vae = VAE(n_components=2, hidden_layer_sizes=(8,), max_epochs=2,
        ...           random_state=0, device="cpu").fit(X)
        >>> ll = vae.log_likelihood(X[:3], n_importance_samples=8, random_state=0)
        >>> bool(np.all(ll >= vae.score_samples(X[:3]) - 1.0))
        True
        """
        check_is_fitted(self)
        if not isinstance(n_importance_samples, Integral) or n_importance_samples < 1:
            raise ValueError("n_importance_samples must be a positive integer, got "
                             f"{n_importance_samples!r}.")
        X = self._validate_X(X, reset=False)
        seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        return self._iwae(X, int(n_importance_samples), seed)

    def _iwae(self, X, k, seed, *condition):
        """Per-sample IWAE bound of validated X with k draws (given ``condition``)."""

        def iwae(module, X_chunk, *rest):
            torch = import_torch()
            *cond, generator = rest
            mu, log_var = self._posterior(module, X_chunk, *cond)
            weights = []
            for _ in range(k):
                eps = torch.randn(mu.shape, generator=generator, device=mu.device,
                                  dtype=mu.dtype)
                z = reparameterize(mu, log_var, eps)
                log_p_x = -self._neg_log_likelihood(self._decoder_output(module, z, *cond),
                                                    X_chunk)
                log_p_z = -0.5 * (z.pow(2).sum(dim=1) + mu.shape[1] * LOG_2PI)
                log_q_z = -0.5 * (eps.pow(2).sum(dim=1) + log_var.sum(dim=1)
                                  + mu.shape[1] * LOG_2PI)
                weights.append(log_p_x + log_p_z - log_q_z)
            return torch.logsumexp(torch.stack(weights), dim=0) - math.log(k)

        return self._inference(iwae, X, *condition, seed=seed, double=True)

    # ------------------------------------------------------------ generation
    def sample(self, n_samples=1, random_state=None):
        """Generate new data: decode draws from the prior N(0, I).

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seeds the prior draws.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_in_)
            Decoded means (probabilities in [0, 1] for the BCE likelihood).

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import VAE
        >>> X = (np.random.default_rng(0).random((60, 16)) > 0.5).astype(float)
        >>> vae = VAE(n_components=2, hidden_layer_sizes=(8,), max_epochs=2,
        ...           random_state=0, device="cpu").fit(X)
        >>> vae.sample(4, random_state=0).shape
        (4, 16)
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        Z = check_random_state(random_state).standard_normal((n_samples, self.n_components))
        return self._decode_array(Z.astype(self._output_dtype))

    def _decode_array(self, Z):
        return self._inference(lambda m, z, g: self._decode(m, z), Z, out_dtype=Z.dtype)

    def _one_sample(self, x, name):
        x = np.asarray(x)
        if x.ndim == 1:
            x = x.reshape(1, -1)
        if x.ndim != 2 or x.shape[0] != 1:
            raise ValueError(f"{name} must be one sample of shape (n_features,) or "
                             f"(1, n_features), got an array of shape {np.shape(x)}.")
        return self._validate_X(x, reset=False)

    def interpolate(self, x_a, x_b, n_steps=8):
        """Decode points evenly spaced on the segment between the means of two samples.

        Parameters
        ----------
        x_a, x_b : array-like of shape (n_features,) or (1, n_features)
            The two end samples.
        n_steps : int, default=8
            Number of points, the two ends included (at least 2).

        Returns
        -------
        path : ndarray of shape (n_steps, n_features_in_)
            Decoded points from ``x_a``'s reconstruction to ``x_b``'s.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import VAE
        >>> X = (np.random.default_rng(0).random((60, 16)) > 0.5).astype(float)
        >>> vae = VAE(n_components=2, hidden_layer_sizes=(8,), max_epochs=2,
        ...           random_state=0, device="cpu").fit(X)
        >>> vae.interpolate(X[0], X[1], n_steps=5).shape
        (5, 16)
        """
        check_is_fitted(self)
        if not isinstance(n_steps, Integral) or n_steps < 2:
            raise ValueError(f"n_steps must be an integer >= 2, got {n_steps!r}.")
        a = self.transform(self._one_sample(x_a, "x_a"))
        b = self.transform(self._one_sample(x_b, "x_b"))
        t = np.linspace(0.0, 1.0, int(n_steps), dtype=a.dtype)[:, None]
        return self._decode_array((1.0 - t) * a + t * b)

    def attribute_vector(self, X_with, X_without):
        """Latent direction of an attribute: mean code of X_with minus that of X_without.

        Parameters
        ----------
        X_with : array-like of shape (n_samples_with, n_features)
            Samples that have the attribute (e.g. faces with glasses).
        X_without : array-like of shape (n_samples_without, n_features)
            Samples that do not.

        Returns
        -------
        vector : ndarray of shape (n_components,)
            To be used with :meth:`add_attribute`.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import VAE
        >>> X = (np.random.default_rng(0).random((60, 16)) > 0.5).astype(float)
        >>> vae = VAE(n_components=2, hidden_layer_sizes=(8,), max_epochs=2,
        ...           random_state=0, device="cpu").fit(X)
        >>> vae.attribute_vector(X[:10], X[10:20]).shape
        (2,)
        """
        return self.transform(X_with).mean(axis=0) - self.transform(X_without).mean(axis=0)

    def add_attribute(self, X, vector, scale=1.0):
        """Decode the latent means of X moved along an attribute vector.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to edit.
        vector : array-like of shape (n_components,)
            Latent direction, e.g. from :meth:`attribute_vector`.
        scale : float, default=1.0
            Step along the vector (negative removes the attribute).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_in_)
            Decoded ``mu(X) + scale * vector``.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import VAE
        >>> X = (np.random.default_rng(0).random((60, 16)) > 0.5).astype(float)
        >>> vae = VAE(n_components=2, hidden_layer_sizes=(8,), max_epochs=2,
        ...           random_state=0, device="cpu").fit(X)
        >>> vector = vae.attribute_vector(X[:10], X[10:20])
        >>> vae.add_attribute(X[:3], vector, scale=0.5).shape
        (3, 16)
        """
        check_is_fitted(self)
        vector = np.asarray(vector, dtype=np.float64)
        if vector.shape != (self.n_components,) or not np.all(np.isfinite(vector)):
            raise ValueError(f"vector must be a finite array of shape (n_components,) = "
                             f"({self.n_components},), got shape {vector.shape}.")
        if not isinstance(scale, Real) or not np.isfinite(scale):
            raise ValueError(f"scale must be a finite number, got {scale!r}.")
        Z = self.transform(X)
        return self._decode_array((Z + scale * vector).astype(Z.dtype))
