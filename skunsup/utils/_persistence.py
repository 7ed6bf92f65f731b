"""The types that skops must trust to load skunsup's estimators."""


def get_trusted_types():
    """Names of the types a skops file of any fitted skunsup estimator may hold.

    skops (``skops.io``) saves an estimator without pickle and, on load,
    builds only the types it is told to trust. Pass this list as ``trusted``
    to ``skops.io.load`` / ``skops.io.loads``: it names skunsup's estimators,
    the helper objects they keep after a fit (t-SNE's affinities,
    nearest-neighbour index, optimiser and FFT interpolation grid; the
    streaming covariance or SVD of partial fits) and two types of NumPy and
    SciPy that skops does not trust by default (``numpy.dtype`` and SciPy's
    ``csr_array``). The neural estimators give skops their network as NumPy
    arrays and rebuild it from their parameters on load, so no torch type is
    needed; a file holding any other type (a callable, your own torch module)
    is still refused unless you trust it yourself.

    Returns
    -------
    trusted : list of str
        Fully qualified type names, sorted, in the form skops reports them
        (``skops.io.get_untrusted_types``).

    See Also
    --------
    skunsup.neural_network.load : Load a neural estimator saved with ``save``.

    Examples
    --------
    >>> import numpy as np
    >>> import skops.io as sio
    >>> from skunsup.cluster import KMeans
    >>> from skunsup.utils import get_trusted_types
    >>> X = np.random.default_rng(0).random((30, 2))
    >>> km = KMeans(n_clusters=2, n_init=1, random_state=0).fit(X)
    >>> data = sio.dumps(km)
    >>> sio.get_untrusted_types(data=data)
    ['skunsup.cluster._kmeans.KMeans']
    >>> loaded = sio.loads(data, trusted=get_trusted_types())
    >>> bool(np.array_equal(loaded.predict(X), km.predict(X)))
    True
    """
    from scipy.sparse import csr_array

    from skunsup.decomposition._streaming import StreamingCovariance, StreamingSVD
    from skunsup.manifold._affinity import Affinities
    from skunsup.manifold._interpolation import FFTRepulsion, _LazyFFTRepulsion
    from skunsup.manifold._interpolation_grid import Grid
    from skunsup.manifold._neighbors import KNNIndex
    from skunsup.manifold._optimizer import GradientDescent
    from skunsup.utils.discovery import all_estimators

    helpers = (StreamingCovariance, StreamingSVD, Affinities, FFTRepulsion,
               _LazyFFTRepulsion, Grid, KNNIndex, GradientDescent, csr_array)
    classes = [cls for _, cls in all_estimators()] + list(helpers)
    # skops names a dtype "numpy.dtype" whatever its class
    return sorted({f"{cls.__module__}.{cls.__name__}" for cls in classes} | {"numpy.dtype"})
