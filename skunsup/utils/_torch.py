"""Lazy access to torch, so that ``import skunsup`` never imports it."""

import importlib

_INSTALL_HINT = (
    "{what} needs PyTorch, which is not installed. Install the neural backend "
    "with `pip install 'skunsup[torch]'` (see the README for the CPU-only wheel)."
)


def import_torch(what="This estimator"):
    """Import and return the ``torch`` module, or raise a helpful ImportError.

    Parameters
    ----------
    what : str, default="This estimator"
        Named in the error message, e.g. the estimator class.

    Returns
    -------
    torch : module
        The imported ``torch`` package.

    Raises
    ------
    ImportError
        When torch is not installed; the message names the ``torch`` extra.

    Examples
    --------
    >>> from skunsup.utils._torch import import_torch
    >>> torch = import_torch()  # doctest: +SKIP
    """
    try:
        return importlib.import_module("torch")
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT.format(what=what)) from exc
