"""Loading saved neural estimators: the fixed registry of classes, and :func:`load`.

The file format is :mod:`skunsup.neural_network._format`; ``save`` is a method
of every neural estimator. Loading looks the file's class name up in
:data:`CLASSES`, never imports or calls anything the file names.
"""

from skunsup.neural_network._autoencoder import Autoencoder, SparseAutoencoder
from skunsup.neural_network._conditional_vae import ConditionalVAE
from skunsup.neural_network._format import read, restore
from skunsup.neural_network._vae import VAE

#: the classes a saved file may name: skunsup's neural estimators, by class name
CLASSES = {cls.__name__: cls for cls in (Autoencoder, SparseAutoencoder, VAE,
                                         ConditionalVAE)}


def load(path, **params):
    """Load a neural estimator saved with its ``save`` method, running no code from the file.

    The file's class name is looked up among skunsup's neural estimators, the
    estimator is made from the stored parameters, its network is rebuilt by
    the estimator itself from those parameters and the number of features,
    and the stored weights are loaded into it after their names, shapes and
    dtypes are checked. The fitted attributes (history, optimiser state, ...)
    come back too, so that the model transforms, scores and samples exactly
    as the saved one did, and continues training with ``warm_start=True``
    as the saved one would have.

    Parameters
    ----------
    path : str or path-like
        A file written by ``save`` (or by :class:`Checkpoint`).
    **params
        Constructor parameters to set on the loaded model. Those the file
        could not hold (your own torch module as ``encoder``/``decoder``, a
        callable ``learning_rate_schedule``, a ``RandomState``) must be given
        here; ``callbacks`` are never stored (None unless given here). Others
        override the stored values (e.g. ``device='cpu'``).

    Returns
    -------
    estimator : Autoencoder, SparseAutoencoder, VAE or ConditionalVAE
        The fitted model.

    Raises
    ------
    ValueError
        When the file is not a skunsup neural model, names an unknown class,
        parameter or attribute, holds tensors of other names, shapes or
        dtypes than the rebuilt network, has a newer format version, or lacks
        a parameter that must be given again.

    See Also
    --------
    Checkpoint : Keep the best epoch's model on disk during training.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from skunsup.neural_network import VAE, load
    >>> X = (np.random.default_rng(0).random((60, 8)) > 0.5).astype(float)
    >>> vae = VAE(n_components=2, hidden_layer_sizes=(4,), max_epochs=2,
    ...           random_state=0, device="cpu").fit(X)
    >>> loaded = load(vae.save(os.path.join(tempfile.mkdtemp(), "vae.safetensors")))
    >>> bool(np.array_equal(loaded.sample(3, random_state=0), vae.sample(3, random_state=0)))
    True
    >>> loaded.n_iter_
    2
    """
    header, tensors = read(path)
    name = header["class"]
    if not isinstance(name, str) or name not in CLASSES:
        raise ValueError(f"{path} holds a model of class {name!r}, which is not one of "
                         f"skunsup's neural estimators {sorted(CLASSES)}.")
    try:
        return restore(CLASSES[name], header, tensors, params)
    except ValueError as error:
        raise ValueError(f"{path} cannot be loaded as {name}: {error}") from None
