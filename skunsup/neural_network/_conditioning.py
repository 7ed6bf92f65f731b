"""The label side of a class-conditional model: labels in, Bayes' rule back to labels.

:class:`LabelConditioningMixin` validates labels (and ``partial_fit``'s
``classes``), turns them into the one-hot conditions the networks read, holds
the class prior p(y) (the label frequencies of the training data) and
computes, from a per-class bound of log p(x | y), the label-summed bound and
the posterior p(y | x) (``predict``, ``predict_proba``, ``predict_log_proba``).
It reads the estimator's ``classes_`` and ``class_count_`` and never writes
them. :func:`conditional_networks` builds the networks that read the one-hot
label.
"""

from functools import partial

import numpy as np
from scipy.special import logsumexp
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from skunsup.neural_network._architectures import check_channels, resolve_image_shape
from skunsup.neural_network._conv import conv_decoder, conv_features
from skunsup.neural_network._modules import mlp
from skunsup.utils._torch import import_torch
from skunsup.utils._validation import check_squares_fit


def conditional_networks(estimator, n_features, n_classes):
    """The ``ModuleDict`` of a conditional VAE's encoder and decoder, reading one-hot labels.

    'mlp': the encoder maps ``[x, onehot(y)]`` and the decoder ``[z,
    onehot(y)]`` through ``hidden_layer_sizes``. 'conv': the encoder is a
    ``ModuleDict`` of the convolutions over the image alone (``"features"``)
    and a ``Linear`` (``"head"``) from ``[features, onehot(y)]`` to ``[mu,
    log_var]``; the decoder is the conv decoder from ``[z, onehot(y)]``.
    Parts are built encoder first (the order their initial weights are drawn in).

    Parameters
    ----------
    estimator : ConditionalVAE
        Reads ``architecture``, ``image_shape``, ``channels``, ``activation``,
        ``hidden_layer_sizes`` and ``n_components``.
    n_features : int
        Width of the data.
    n_classes : int
        Width of the one-hot labels.

    Returns
    -------
    module : torch.nn.ModuleDict
    """
    torch = import_torch()
    k, activation = int(estimator.n_components), estimator.activation
    if estimator.architecture == "mlp":
        hidden = list(estimator._hidden_sizes())
        encoder = mlp([n_features + n_classes, *hidden, 2 * k], activation)
        decoder = mlp([k + n_classes, *hidden[::-1], n_features], activation)
    else:
        shape = resolve_image_shape(estimator.image_shape, n_features)
        channels = check_channels(estimator.channels)
        features, width = conv_features(shape, channels, activation)
        encoder = torch.nn.ModuleDict({"features": features,
                                       "head": torch.nn.Linear(width + n_classes, 2 * k)})
        decoder = conv_decoder(k + n_classes, shape, channels, activation)
    return torch.nn.ModuleDict({"encoder": encoder, "decoder": decoder})


class LabelConditioningMixin:
    """Labels as one-hot conditions, the class prior and the posterior over classes.

    For a model fitted on labelled data with ``classes_`` (sorted labels),
    ``class_count_`` (training samples per class), ``_validate_X(X, reset)``
    and ``_elbo(X, condition)`` (the per-sample ELBO of validated X given
    one-hot labels).
    """

    def _validate_X_y(self, X, y, reset):
        X, y = validate_data(self, X, y, reset=reset, dtype=[np.float64, np.float32])
        check_squares_fit(X, dtype=np.float32, estimator=type(self).__name__)
        check_classification_targets(y)
        return X, y

    def _partial_fit_classes(self, y, classes, continuing):
        """``(classes, class counts so far)`` of a ``partial_fit`` call, by scikit-learn's rule.

        The first call takes ``classes`` (every label any call may bring), or
        the labels of its ``y`` when None; later calls accept None or the same
        classes.
        """
        if classes is not None:
            classes = column_or_1d(classes)
            check_classification_targets(classes)
            classes = np.unique(classes)
        if continuing:
            if classes is not None and not np.array_equal(classes, self.classes_):
                raise ValueError(f"classes={classes.tolist()} differs from the classes of "
                                 f"the first partial_fit call, {self.classes_.tolist()}.")
            return self.classes_, self.class_count_
        classes = np.unique(y) if classes is None else classes
        return classes, np.zeros(len(classes))

    def _label_indices(self, y, n_samples, classes=None):
        """Positions in ``classes`` (default ``classes_``) of the labels ``y``."""
        classes = self.classes_ if classes is None else classes
        y = column_or_1d(y, warn=True)
        if len(y) != n_samples:
            raise ValueError(f"y has {len(y)} labels, but there are {n_samples} samples.")
        known = np.isin(y, classes)
        if not known.all():
            unseen = list(dict.fromkeys(y[~known].tolist()))[:5]
            raise ValueError(f"y holds labels that are not among the classes "
                             f"{classes.tolist()} of {type(self).__name__}: {unseen}.")
        return np.searchsorted(classes, y)

    def _one_hot(self, indices):
        return np.eye(len(self.classes_), dtype=np.float32)[indices]

    def _labels_for_decoding(self, y, n_samples):
        """One-hot labels for decoding n samples from ``y``, one label or one per sample."""
        labels = np.asarray(y)
        if labels.ndim == 0:
            labels = np.repeat(labels[None], n_samples)
        elif labels.ndim != 1 or len(labels) != n_samples:
            raise ValueError(f"y must be one label or {n_samples} labels, got an array of "
                             f"shape {labels.shape}.")
        return self._one_hot(self._label_indices(labels, n_samples))

    def _class_log_joint(self, bound, n_samples):
        """``log p(y) + bound(onehot(y))`` for every sample and class, shape (n, n_classes).

        Classes without training samples (possible after ``partial_fit`` with
        ``classes``) have prior 0: their column is -inf and is not evaluated.
        """
        with np.errstate(divide="ignore"):
            log_prior = np.log(self.class_count_ / self.class_count_.sum())
        columns = np.full((n_samples, len(self.classes_)), -np.inf)
        for index in np.flatnonzero(np.isfinite(log_prior)):
            condition = self._one_hot(np.full(n_samples, index))
            columns[:, index] = log_prior[index] + bound(condition)
        return columns

    def _mixture(self, bound, n_samples):
        """``log sum_y p(y) exp(bound(onehot(y)))`` per sample: the label summed out."""
        return logsumexp(self._class_log_joint(bound, n_samples), axis=1)

    def _elbo_log_joint(self, X):
        """``log p(y) + ELBO(x, y)`` of validated X for every class."""
        return self._class_log_joint(partial(self._elbo, X), len(X))

    def _condition(self, X, y):
        """One-hot labels of validated X: ``y``'s, or the most probable ones when None."""
        if y is not None:
            return self._one_hot(self._label_indices(y, len(X)))
        return self._one_hot(np.argmax(self._elbo_log_joint(X), axis=1))

    def predict_log_proba(self, X):
        """Log-posterior of every class given each sample, by Bayes' rule.

        ``log p(y | x) = log p(y) + ELBO(x, y) - log sum_y' p(y') exp(ELBO(x, y'))``:
        the ELBO stands for log p(x | y) (with the 4 fixed draws of
        :meth:`score_samples`, so the result is the same on every call), and
        p(y) is the label frequency in the training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; -inf for a class without
            training samples.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import ConditionalVAE
        >>> X, y = (np.random.default_rng(0).random((60, 16)) > 0.5) * 1.0, np.arange(60) % 3
        >>> cvae = ConditionalVAE(2, hidden_layer_sizes=(8,), max_epochs=2, device="cpu").fit(X, y)
        >>> log_proba = cvae.predict_log_proba(X[:4])
        >>> log_proba.shape, bool(np.all(log_proba <= 0))
        ((4, 3), True)
        """
        check_is_fitted(self)
        joint = self._elbo_log_joint(self._validate_X(X, reset=False))
        return joint - logsumexp(joint, axis=1, keepdims=True)

    def predict_proba(self, X):
        """Posterior probability of every class given each sample, p(y | x).

        ``p(y | x)`` is proportional to ``p(y) exp(ELBO(x, y))``, as in
        :meth:`predict_log_proba`: the model is a generative classifier. The
        ELBO, not the tighter importance-weighted bound of
        :meth:`log_likelihood`, stands for log p(x | y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to 1; columns in the order of ``classes_``.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import ConditionalVAE
        >>> X, y = (np.random.default_rng(0).random((60, 16)) > 0.5) * 1.0, np.arange(60) % 3
        >>> cvae = ConditionalVAE(2, hidden_layer_sizes=(8,), max_epochs=2, device="cpu").fit(X, y)
        >>> proba = cvae.predict_proba(X[:4])
        >>> proba.shape, bool(np.allclose(proba.sum(axis=1), 1.0))
        ((4, 3), True)
        """
        return np.exp(self.predict_log_proba(X))

    def predict(self, X):
        """Most probable class of each sample, argmax_y log p(y) + ELBO(x, y).

        The label :meth:`transform` codes a sample under when given none.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.

        Examples
        --------
        >>> import numpy as np
        >>> from skunsup.neural_network import ConditionalVAE
        >>> X, y = (np.random.default_rng(0).random((60, 16)) > 0.5) * 1.0, np.arange(60) % 3
        >>> cvae = ConditionalVAE(2, hidden_layer_sizes=(8,), max_epochs=2, device="cpu").fit(X, y)
        >>> y_pred = cvae.predict(X[:4])
        >>> y_pred.shape, set(y_pred.tolist()) <= {0, 1, 2}
        ((4,), True)
        """
        check_is_fitted(self)
        joint = self._elbo_log_joint(self._validate_X(X, reset=False))
        return self.classes_[np.argmax(joint, axis=1)]
