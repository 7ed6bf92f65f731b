"""What every PCA executor shares once it has a spectrum: the sign convention."""

import numpy as np


def flip_signs(components, U=None):
    """Fix the sign of each component: its entry of largest magnitude is positive.

    The same convention for every solver (scikit-learn's ``svd_flip`` with
    ``u_based_decision=False``), so that all solvers give the same components.

    Examples
    --------
    >>> import numpy as np
    >>> from skunsup.decomposition._spectrum import flip_signs
    >>> components, U = flip_signs(np.array([[0.6, -0.8]]), np.array([[1.0], [2.0]]))
    >>> components.tolist(), U.ravel().tolist()
    ([[-0.6, 0.8]], [-1.0, -2.0])
    """
    if components.shape[0] == 0:
        return components, U
    rows = np.arange(components.shape[0])
    signs = np.sign(components[rows, np.argmax(np.abs(components), axis=1)])
    signs[signs == 0] = 1
    components = components * signs[:, np.newaxis]
    if U is not None:
        U = U * signs[np.newaxis, : U.shape[1]]
    return components, U
