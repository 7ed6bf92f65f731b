"""``partial_fit`` for the PCA family: a stream of batches and its fitted attributes.

:class:`~skunsup.decomposition.PCA` (its ``partial_fit``) and
:class:`~skunsup.decomposition.IncrementalPCA` keep the float64 moments of every
row seen in a :class:`~skunsup.decomposition._streaming.StreamingCovariance`
(the private ``_stream``). Their fitted attributes are at every moment those of
``PCA(svd_solver='covariance_eigh')`` on all those rows, through the same step
from a spectrum to the attributes
(:func:`~skunsup.decomposition._spectrum.fitted_attributes`).

The eigendecomposition behind the spectral attributes costs ``O(n_features **
3)``, more than a small batch: after a ``partial_fit`` call they are computed
when first read (by the estimator's own methods or by the user), once for any
number of calls in between. The mean and the counts are written at once.

A call is atomic: the batch is merged into a copy of the stream and the
estimator's state replaced in one assignment, so Ctrl-C during a loop of
calls leaves the model of every batch before the interrupted one.
"""

import copy

from skunsup.decomposition._spectrum import fitted_attributes
from skunsup.decomposition._streaming import new_stream

# The attributes that need the spectrum: absent after a partial_fit call until
# first read (then all written at once by _write_spectrum).
SPECTRAL_ATTRIBUTES = frozenset({
    "components_",
    "explained_variance_",
    "explained_variance_ratio_",
    "singular_values_",
    "noise_variance_",
    "n_components_",
})


class _StreamingPCAMixin:
    """The stream of a PCA fitted batch by batch (a mixin of the estimators).

    The estimator validates each batch and resolves the number of components,
    then calls :meth:`_update_stream`; reading a spectral attribute afterwards
    writes them all (:meth:`_write_spectrum`).
    """

    def _update_stream(self, X, n_components, dtype, *, restart, fixed_rank=False):
        """Add a validated batch to the stream (a new one if ``restart``).

        Writes ``mean_`` and ``n_samples_`` in ``dtype`` now (and what
        :meth:`_stream_attributes` adds), and forgets the spectral attributes
        until they are read. ``n_components`` is what
        :func:`~skunsup.decomposition._spectrum.fitted_attributes` gets (an
        integer, a fraction or 'mle', already checked against the data);
        ``fixed_rank`` says that it is an integer fixed for the whole stream,
        which lets a new stream follow it by the SVD update above
        :data:`~skunsup.decomposition._streaming.MAX_FEATURES` features.
        """
        stream = None if restart else self.__dict__.get("_stream")
        if stream is None:
            stream = new_stream(X.shape[1], n_components if fixed_rank else None)
        else:
            # update() replaces the moments' arrays and never writes into them, so
            # the estimator's stream is untouched until the assignment below
            stream = copy.copy(stream)
        stream.update(X)
        state = {name: value for name, value in self.__dict__.items()
                 if name not in SPECTRAL_ATTRIBUTES}
        state.update(_stream=stream, _stream_n_components=n_components,
                     mean_=stream.mean.astype(dtype), n_samples_=stream.n_samples,
                     **self._stream_attributes(stream, n_components, dtype))
        self.__dict__ = state  # one assignment: Ctrl-C finds the old state or the new

    def _stream_attributes(self, stream, n_components, dtype):
        """Attributes an estimator writes after every batch besides ``mean_`` and
        ``n_samples_`` (none here)."""
        return {}

    def _write_spectrum(self):
        """Write the spectral attributes of the stream's covariance."""
        stream = self._stream
        variances, components, total_var, mean = stream.spectrum(self._stream_n_components)
        attributes, _ = fitted_attributes(
            variances, components, total_var, mean, n_components=self._stream_n_components,
            n_samples=stream.n_samples, n_features=mean.shape[0], dtype=self.mean_.dtype)
        self.__dict__.update(attributes)

    def __getattr__(self, name):
        # Called only when ``name`` is not found the usual way: a spectral
        # attribute not yet computed since the last partial_fit call.
        if name in SPECTRAL_ATTRIBUTES and self.__dict__.get("_stream") is not None:
            self._write_spectrum()
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
