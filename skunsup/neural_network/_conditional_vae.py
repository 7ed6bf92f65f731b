"""The conditional variational autoencoder: a VAE whose encoder and decoder read the label."""

import inspect
from functools import partial
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from skunsup.neural_network._architectures import DEFAULT_CHANNELS
from skunsup.neural_network._conditioning import LabelConditioningMixin, conditional_networks
from skunsup.neural_network._vae import VAE
from skunsup.utils._sklearn_compat import _fit_context
from skunsup.utils._torch import import_torch


def _constraints_for(init):
    """VAE's parameter constraints restricted to the parameters of ``init``."""
    names = inspect.signature(init).parameters
    return {name: rule for name, rule in VAE._parameter_constraints.items() if name in names}


class ConditionalVAE(LabelConditioningMixin, VAE):
    """Conditional variational autoencoder: codes and generation given a class label.

    A :class:`VAE` whose encoder reads the sample and its label, q(z | x, y),
    and whose decoder reads the code and the label, p(x | z, y): the label
    enters both networks as a one-hot vector joined to their input (to the
    convolutional features, for 'conv'; Sohn, Lee and Yan, 2015). The prior
    stays N(0, I), so the code holds what the label does not say (the style
    of a digit, the cut of a shirt), and ``sample(n, y=label)`` generates new
    samples of a chosen class. Training
    maximises the conditional ELBO E_q[log p(x | z, y)] - KL(q(z | x, y) || N(0, I))
    with the VAE's losses, reparameterisation and scores.

    With p(y), the label frequencies of the training data, the model is a
    generative model of the pair (x, y), and the methods use it when they are
    not given labels (as in a :class:`~sklearn.pipeline.Pipeline`, which
    transforms new data without them): :meth:`transform` codes each sample
    under its most probable label, argmax_y log p(y) + ELBO(x, y), which
    :meth:`predict` returns (:meth:`predict_proba` gives p(y | x), proportional
    to p(y) exp(ELBO(x, y)): a generative classifier);
    :meth:`score_samples` returns log sum_y p(y) exp(ELBO(x, y)), a lower bound
    of log p(x) (so does :meth:`log_likelihood`, with the IWAE bound);
    :meth:`inverse_transform` returns E[x | z] = sum_y p(y) E[x | z, y].

    Read more in the :ref:`User Guide <conditional_vae>`.

    Parameters
    ----------
    n_components : int, default=20
        Dimension of the latent space (the output of :meth:`transform`).
    hidden_layer_sizes : array-like of int, default=(400,)
        Widths of the encoder's hidden layers; the decoder uses them reversed.
        'mlp' only.
    architecture : {'mlp', 'conv'}, default='mlp'
        The networks built: 'mlp' is fully connected through
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
    activation : {'relu', 'tanh', 'logistic', 'identity', 'elu', 'gelu'}, default='relu'
        Activation of the hidden layers or convolutions.
    loss : {'auto', 'bce', 'mse'}, default='auto'
        Likelihood p(x | z, y): 'bce' a Bernoulli with the decoder's logits (data
        in [0, 1]), 'mse' a Gaussian with unit variance (standardise the data
        first); 'auto' is 'bce' when the training data lie in [0, 1].
    beta : float, default=1.0
        Weight of the KL term in the training loss; ``score`` always reports
        the true ELBO (beta = 1).
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
        How the learning rate changes from epoch to epoch, as in :class:`VAE`.
    max_grad_norm : float or None, default=None
        Clip the gradient's global L2 norm to this value before every step.
    shuffle : bool, default=True
        Shuffle the samples (with their labels) every epoch.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the samples with their labels, stop
        when their loss stops improving and keep the best epoch's weights.
    validation_fraction : float, default=0.1
        Share of the data held out for early stopping, in [0, 1).
    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` before stopping.
    tol : float, default=1e-4
        Minimal improvement of the monitored loss (nats per sample).
    warm_start : bool, default=False
        Continue from the fitted weights (and optimiser state) on ``fit``; the
        labels must then be among ``classes_``.
    device : {'auto', 'cpu', 'cuda', 'mps'}, default='auto'
        Where to train ('auto': CUDA when available); ``module_`` is kept on the CPU.
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
    classes_ : ndarray of shape (n_classes,)
        The labels, sorted: the order of the one-hot vectors.
    class_count_ : ndarray of shape (n_classes,)
        Samples of each class in the last ``fit`` (summed over ``partial_fit``
        calls); their frequencies are p(y).
    module_ : torch.nn.ModuleDict
        The trained network, on the CPU: ``"encoder"`` maps ``[x, onehot(y)]``
        to ``[mu, log_var]`` ('conv': ``"features"`` of x, then a ``"head"``
        on ``[features, onehot(y)]``), ``"decoder"`` ``[z, onehot(y)]`` to
        logits or means.
    reconstruction_loss_ : {'bce', 'mse'}
        The likelihood used (resolved from ``loss='auto'``).
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``reconstruction``, ``kl``,
        ``valid_loss`` (with early stopping), ``learning_rate``, ``time``.
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
    VAE : The unconditional model.

    Notes
    -----
    With ``architecture='conv'`` the label joins the encoder's flattened
    feature maps and the decoder's input ``[z, onehot(y)]``: the convolutions
    see the image alone (a label, the same at every pixel, would mostly shift
    their first layer's outputs by a per-class constant there). :class:`VAE`'s
    ``encoder`` / ``decoder`` (your own modules) are not parameters here: they
    would have to read the label. :meth:`sample` and :meth:`interpolate` need
    labels; the other methods take them optionally, and refuse labels not seen
    in ``fit``.
    ``fit_transform(X, y)`` is ``fit(X, y).transform(X)``, scikit-learn's
    contract (a pipeline step's output on its training data equals its later
    output on the same data, given without labels); ``fit(X, y).transform(X, y)``
    gives the codes under the given labels.

    References
    ----------
    K. Sohn, H. Lee and X. Yan, "Learning Structured Output Representation
    using Deep Conditional Generative Models", NeurIPS 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.neural_network import ConditionalVAE
    >>> rng = np.random.default_rng(0)
    >>> X, y = (rng.random((100, 16)) > 0.5) * 1.0, rng.choice(["a", "b", "c"], 100)
    >>> cvae = ConditionalVAE(n_components=2, hidden_layer_sizes=(8,), max_epochs=3,
    ...                       random_state=0, device="cpu").fit(X, y)
    >>> cvae.classes_.tolist()
    ['a', 'b', 'c']
    >>> cvae.transform(X, y).shape
    (100, 2)
    >>> cvae.sample(4, y="b", random_state=0).shape
    (4, 16)
    >>> cvae.predict_proba(X[:2]).shape
    (2, 3)
    >>> bool(cvae.score(X, y) < 0)
    True
    """

    # Parameters written out, no **kwargs: scikit-learn's get_params and clone read
    # them from this signature, and __init__ only stores them (its convention).
    def __init__(
        self,
        n_components=20,
        *,
        hidden_layer_sizes=(400,),
        architecture="mlp",
        image_shape=None,
        channels=DEFAULT_CHANNELS,
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

    # only the parameters above: VAE has more (its user modules)
    _parameter_constraints: dict = _constraints_for(__init__)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    # ----------------------------------------------------------------- hooks
    def _build_module(self, n_features):
        return conditional_networks(self, n_features, len(self.classes_))

    def _posterior(self, module, X, *condition):
        torch = import_torch()
        encoder = module["encoder"]
        if isinstance(encoder, torch.nn.ModuleDict):  # 'conv': the label joins the features
            X, encoder = encoder["features"](X), encoder["head"]
        return encoder(torch.cat([X, *condition], dim=1)).chunk(2, dim=1)

    def _decoder_output(self, module, Z, *condition):
        return module["decoder"](import_torch().cat([Z, *condition], dim=1))

    def _elbo(self, X, *condition):
        bound = super()._elbo
        return bound(X, *condition) if condition else self._mixture(partial(bound, X), len(X))

    def _iwae(self, X, k, seed, *condition):
        bound = super()._iwae
        if condition:
            return bound(X, k, seed, *condition)
        return self._mixture(partial(bound, X, k, seed), len(X))

    # -------------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the model on X with the labels y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels (any labels a scikit-learn classifier accepts).

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        FloatingPointError
            When the loss becomes NaN or infinite; the best weights so far are kept.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import ConditionalVAE
        >>> X, y = (np.random.default_rng(0).random((60, 16)) > 0.5) * 1.0, np.arange(60) % 3
        >>> cvae = ConditionalVAE(2, hidden_layer_sizes=(8,), max_epochs=2, device="cpu").fit(X, y)
        >>> cvae.class_count_.tolist()
        [20.0, 20.0, 20.0]
        """
        continuing = self.warm_start and hasattr(self, "module_")
        X, y = self._validate_X_y(X, y, reset=not continuing)
        if not continuing:
            self.classes_ = np.unique(y)
        indices = self._label_indices(y, len(X))  # refuses new labels on a warm start
        self.class_count_ = np.bincount(indices, minlength=len(self.classes_)).astype(float)
        return self._train(X, continuing=continuing, n_epochs=self.max_epochs,
                           use_early_stopping=self.early_stopping,
                           condition=self._one_hot(indices))

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """One pass (epoch) over X and its labels, continuing the current model if fitted.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            Every label that any call may bring. Needed on the first call when
            its y does not hold them all (the network's input width is fixed
            then); None takes the labels of the first call's y. Later calls
            accept None or the same classes.

        Returns
        -------
        self : object
            The updated estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import ConditionalVAE
        >>> X = (np.random.default_rng(0).random((60, 16)) > 0.5).astype(float)
        >>> cvae = ConditionalVAE(2, hidden_layer_sizes=(8,), device="cpu")
        >>> cvae = cvae.partial_fit(X[:30], np.zeros(30), classes=[0, 1])
        >>> cvae = cvae.partial_fit(X[30:], np.ones(30))
        >>> cvae.n_iter_, cvae.class_count_.tolist()
        (2, [30.0, 30.0])
        """
        continuing = hasattr(self, "module_")
        X, y = self._validate_X_y(X, y, reset=not continuing)
        classes, counts = self._partial_fit_classes(y, classes, continuing)
        indices = self._label_indices(y, len(X), classes=classes)
        self.classes_ = classes
        self.class_count_ = counts + np.bincount(indices, minlength=len(classes))
        return self._train(X, continuing=continuing, n_epochs=1, use_early_stopping=False,
                           condition=self._one_hot(indices))

    # ------------------------------------------------------- codes and data
    def transform(self, X, y=None):
        """Posterior means of X given its labels: the codes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.
        y : array-like of shape (n_samples,), default=None
            Their labels. None codes every sample under its most probable
            label, argmax_y log p(y) + ELBO(x, y) (as a pipeline does on new
            data).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            The means of q(z | x, y), in X's float dtype.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import ConditionalVAE
        >>> X, y = (np.random.default_rng(0).random((60, 16)) > 0.5) * 1.0, np.arange(60) % 3
        >>> cvae = ConditionalVAE(2, hidden_layer_sizes=(8,), max_epochs=2, device="cpu").fit(X, y)
        >>> cvae.transform(X[:5], [0, 1, 2, 0, 1]).shape
        (5, 2)
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self._encode_array(X, self._condition(X, y))

    def _encode_array(self, X, condition):
        def encode(module, X_chunk, condition_chunk, generator):
            return self._posterior(module, X_chunk, condition_chunk)[0]

        # in float64, as the scores: a sample's code then does not depend on the
        # rows it is computed with (float32 products differed at 6e-8 with the order)
        return self._inference(encode, X, condition, out_dtype=X.dtype, double=True)

    def inverse_transform(self, X, y=None):
        """Decode codes under given labels back to the input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes, e.g. the output of :meth:`transform`.
        y : label or array-like of shape (n_samples,), default=None
            The labels to decode them under. None gives E[x | z], the decoded
            means averaged over the labels with weights p(y) (the prior makes
            the code and the label independent, so p(y | z) = p(y)).

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_)
            Decoded means (probabilities in [0, 1] for the BCE likelihood).

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import ConditionalVAE
        >>> X, y = (np.random.default_rng(0).random((60, 16)) > 0.5) * 1.0, np.arange(60) % 3
        >>> cvae = ConditionalVAE(2, hidden_layer_sizes=(8,), max_epochs=2, device="cpu").fit(X, y)
        >>> cvae.inverse_transform(cvae.transform(X, y), y).shape
        (60, 16)
        """
        check_is_fitted(self)
        Z = self._check_codes(X, "X")
        if y is not None:
            return self._decode_array(Z, self._labels_for_decoding(y, len(Z)))
        prior = self.class_count_ / self.class_count_.sum()
        mean = np.zeros((len(Z), self.n_features_in_))
        for index in np.flatnonzero(prior):
            mean += prior[index] * self._decode_array(Z, self._one_hot(np.full(len(Z), index)))
        return mean.astype(Z.dtype)

    def _decode_array(self, Z, condition):
        def decode(module, Z_chunk, condition_chunk, generator):
            return self._output(self._decoder_output(module, Z_chunk, condition_chunk))

        return self._inference(decode, Z, condition, out_dtype=Z.dtype)

    # ---------------------------------------------------------------- scores
    def score_samples(self, X, y=None):
        """Evidence lower bound of every sample given its label, in nats (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.
        y : array-like of shape (n_samples,), default=None
            Their labels. None sums the label out:
            log sum_y p(y) exp(ELBO(x, y)), a lower bound of log p(x).

        Returns
        -------
        elbo : ndarray of shape (n_samples,)
            ``E_q[log p(x | z, y)] - KL(q(z | x, y) || p(z))`` estimated with 4
            draws, or its mixture over the labels.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import ConditionalVAE
        >>> X, y = (np.random.default_rng(0).random((60, 16)) > 0.5) * 1.0, np.arange(60) % 3
        >>> cvae = ConditionalVAE(2, hidden_layer_sizes=(8,), max_epochs=2, device="cpu").fit(X, y)
        >>> cvae.score_samples(X[:3], y[:3]).shape
        (3,)
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        if y is None:
            return self._elbo(X)
        return self._elbo(X, self._one_hot(self._label_indices(y, len(X))))

    def score(self, X, y=None):
        """Mean ELBO per sample given the labels, in nats (what GridSearchCV maximises).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.
        y : array-like of shape (n_samples,), default=None
            Their labels; None sums them out (see :meth:`score_samples`).

        Returns
        -------
        score : float
            Mean of :meth:`score_samples`.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import ConditionalVAE
        >>> X, y = (np.random.default_rng(0).random((60, 16)) > 0.5) * 1.0, np.arange(60) % 3
        >>> cvae = ConditionalVAE(2, hidden_layer_sizes=(8,), max_epochs=2, device="cpu").fit(X, y)
        >>> bool(cvae.score(X, y) < 0)
        True
        """
        return float(np.mean(self.score_samples(X, y)))

    # ------------------------------------------------------------ generation
    def sample(self, n_samples=1, *, y, random_state=None):
        """Generate new samples of given classes: decode prior draws under the labels.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        y : label or array-like of shape (n_samples,)
            The class of every sample (one label for all of them).
        random_state : int, RandomState instance or None, default=None
            Seeds the prior draws.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_in_)
            Decoded means (probabilities in [0, 1] for the BCE likelihood).

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import ConditionalVAE
        >>> X, y = (np.random.default_rng(0).random((60, 16)) > 0.5) * 1.0, np.arange(60) % 3
        >>> cvae = ConditionalVAE(2, hidden_layer_sizes=(8,), max_epochs=2, device="cpu").fit(X, y)
        >>> cvae.sample(6, y=[0, 0, 1, 1, 2, 2], random_state=0).shape
        (6, 16)
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        condition = self._labels_for_decoding(y, n_samples)
        Z = check_random_state(random_state).standard_normal((n_samples, self.n_components))
        return self._decode_array(Z.astype(self._output_dtype), condition)

    def interpolate(self, x_a, x_b, y, n_steps=8):
        """Decode, within one class, points evenly spaced between the codes of two samples.

        Parameters
        ----------
        x_a, x_b : array-like of shape (n_features,) or (1, n_features)
            The two end samples.
        y : label
            The class: both samples are encoded, and the path decoded, under it.
        n_steps : int, default=8
            Number of points, the two ends included (at least 2).

        Returns
        -------
        path : ndarray of shape (n_steps, n_features_in_)
            Decoded points from ``x_a``'s reconstruction to ``x_b``'s.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import ConditionalVAE
        >>> X, y = (np.random.default_rng(0).random((60, 16)) > 0.5) * 1.0, np.arange(60) % 3
        >>> cvae = ConditionalVAE(2, hidden_layer_sizes=(8,), max_epochs=2, device="cpu").fit(X, y)
        >>> cvae.interpolate(X[0], X[3], y=0, n_steps=5).shape
        (5, 16)
        """
        check_is_fitted(self)
        if not isinstance(n_steps, Integral) or n_steps < 2:
            raise ValueError(f"n_steps must be an integer >= 2, got {n_steps!r}.")
        if np.ndim(y) != 0:
            raise ValueError(f"y must be one label, got an array of shape {np.shape(y)}.")
        a = self.transform(self._one_sample(x_a, "x_a"), [y])
        b = self.transform(self._one_sample(x_b, "x_b"), [y])
        t = np.linspace(0.0, 1.0, int(n_steps), dtype=a.dtype)[:, None]
        return self._decode_array((1.0 - t) * a + t * b,
                                  self._labels_for_decoding(y, int(n_steps)))

    def add_attribute(self, X, vector, scale=1.0, *, y=None):
        """Decode, under each sample's label, its code moved along an attribute vector.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to edit.
        vector : array-like of shape (n_components,)
            Latent direction, e.g. from :meth:`attribute_vector`.
        scale : float, default=1.0
            Step along the vector (negative removes the attribute).
        y : array-like of shape (n_samples,), default=None
            Their labels (None: the most probable ones, as in :meth:`transform`);
            encoding and decoding both use them.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_in_)
            Decoded ``mu(X, y) + scale * vector`` under ``y``.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import ConditionalVAE
        >>> X, y = (np.random.default_rng(0).random((60, 16)) > 0.5) * 1.0, np.arange(60) % 3
        >>> cvae = ConditionalVAE(2, hidden_layer_sizes=(8,), max_epochs=2, device="cpu").fit(X, y)
        >>> cvae.add_attribute(X[:3], np.ones(2), scale=0.5, y=y[:3]).shape
        (3, 16)
        """
        check_is_fitted(self)
        vector = np.asarray(vector, dtype=np.float64)
        if vector.shape != (self.n_components,) or not np.all(np.isfinite(vector)):
            raise ValueError(f"vector must be a finite array of shape (n_components,) = "
                             f"({self.n_components},), got shape {vector.shape}.")
        if not isinstance(scale, Real) or not np.isfinite(scale):
            raise ValueError(f"scale must be a finite number, got {scale!r}.")
        X = self._validate_X(X, reset=False)
        condition = self._condition(X, y)
        Z = self._encode_array(X, condition)
        return self._decode_array((Z + scale * vector).astype(Z.dtype), condition)
