"""torch for skunsup: the lazy import, the ``device`` parameter, and what a
torch executor needs around its products.

``import skunsup`` never imports torch: every function here takes the module
(or imports it) when a fit asks for a device. The ``device`` parameter of the
estimators is resolved here, once for all of them:

- the neural models train on torch whatever the device (:func:`resolve_device`);
- :class:`~skunsup.cluster.KMeans` and :class:`~skunsup.decomposition.PCA` run
  their numba / LAPACK path for ``device='cpu'`` and a torch executor for a
  CUDA device (:func:`fit_device`). Tests route ``device='cpu'`` through the
  torch executor too, with :func:`torch_executor_on_cpu`.
"""

import contextlib
import contextvars
import importlib
import re
import warnings

from skunsup.utils._sklearn_compat import StrOptions

_INSTALL_HINT = (
    "{what} needs PyTorch, which is not installed. Install the neural backend "
    "with `pip install 'skunsup[torch]'` (see the README for the CPU-only wheel)."
)

# "cuda:<index>", a CUDA device named by its index (torch's spelling)
_CUDA_INDEX = re.compile(r"cuda:\d+")

# True inside torch_executor_on_cpu(): device='cpu' fits run the torch executor
_TORCH_ON_CPU = contextvars.ContextVar("skunsup_torch_executor_on_cpu", default=False)


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


class DeviceOptions(StrOptions):
    """The values of a ``device`` parameter: the named options, and ``'cuda:<index>'``.

    A parameter constraint of scikit-learn's validation (a
    :class:`~sklearn.utils._param_validation.StrOptions` that also takes a CUDA
    device by its index, as torch spells it).

    Examples
    --------
    >>> from skunsup.utils._torch import DeviceOptions
    >>> options = DeviceOptions({"auto", "cpu", "cuda"})
    >>> options.is_satisfied_by("cuda:1"), options.is_satisfied_by("gpu")
    (True, False)
    """

    def is_satisfied_by(self, val):
        return super().is_satisfied_by(val) or (
            isinstance(val, str) and _CUDA_INDEX.fullmatch(val) is not None)

    def __str__(self):
        return super().__str__() + " or 'cuda:<index>'"


def resolve_device(device, torch, *, strict=True):
    """The torch device for a ``device`` parameter value.

    ``'auto'`` is CUDA when torch sees a CUDA device, else the CPU. An explicit
    ``'cuda'`` (``'cuda:<index>'``) / ``'mps'`` that is not available raises a
    ValueError when ``strict`` (at fit time) and falls back to the CPU with a
    warning otherwise (inference with a model fitted elsewhere).

    Parameters
    ----------
    device : str
        ``'auto'``, ``'cpu'``, ``'cuda'``, ``'cuda:<index>'`` or ``'mps'``.
    torch : module
        The torch module.
    strict : bool, default=True
        Raise (True) or warn and use the CPU (False) when the device is missing.

    Returns
    -------
    device : torch.device

    Examples
    --------
    >>> import torch
    >>> from skunsup.utils._torch import resolve_device
    >>> resolve_device("cpu", torch)
    device(type='cpu')
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        problem = (f"device={device!r} was requested but this torch ({torch.__version__}) "
                   "sees no CUDA device (torch.cuda.is_available() is False)")
    elif (_CUDA_INDEX.fullmatch(device)
          and int(device.split(":")[1]) >= torch.cuda.device_count()):
        problem = (f"device={device!r} was requested but torch sees "
                   f"{torch.cuda.device_count()} CUDA device(s)")
    elif device == "mps" and not (hasattr(torch.backends, "mps")
                                  and torch.backends.mps.is_available()):
        problem = "device='mps' was requested but torch reports MPS as unavailable"
    else:
        return torch.device(device)
    if strict:
        raise ValueError(problem + "; use device='cpu' or device='auto'.")
    warnings.warn(problem + "; running on the CPU instead.", UserWarning, stacklevel=3)
    return torch.device("cpu")


@contextlib.contextmanager
def torch_executor_on_cpu():
    """Run ``device='cpu'`` fits of KMeans and PCA through their torch executor.

    Private, for tests: the torch executor is what ``device='cuda'`` runs, and
    this lets the CPU build of torch exercise it against the numba / LAPACK
    path on a machine without a GPU. Applies to the current thread (a context
    variable) and is undone on exit.

    Examples
    --------
    >>> from skunsup.utils._torch import fit_device, torch_executor_on_cpu
    >>> fit_device("cpu", "KMeans") is None
    True
    >>> with torch_executor_on_cpu():
    ...     fit_device("cpu", "KMeans")
    device(type='cpu')
    """
    token = _TORCH_ON_CPU.set(True)
    try:
        yield
    finally:
        _TORCH_ON_CPU.reset(token)


def fit_device(device, what, *, unsupported=None):
    """The torch device a fit of KMeans / PCA runs on, or None for the numba path.

    ``'cpu'`` is the numba / LAPACK path (or the torch executor on the CPU
    inside :func:`torch_executor_on_cpu`); ``'auto'`` is CUDA when torch is
    installed and sees a CUDA device, else the CPU path; ``'cuda'`` and
    ``'cuda:<index>'`` are CUDA or a ValueError.

    Parameters
    ----------
    device : str
        The estimator's ``device``.
    what : str
        The estimator's name, for the messages.
    unsupported : str, default=None
        Why this fit has no torch executor (e.g. ``'sparse input'``), or None.
        Then ``'cpu'`` and ``'auto'`` take the CPU path (inside
        :func:`torch_executor_on_cpu` too) and a CUDA device is a ValueError.

    Returns
    -------
    device : torch.device or None

    Examples
    --------
    >>> from skunsup.utils._torch import fit_device
    >>> fit_device("cpu", "PCA") is None
    True
    """
    if device == "cpu" and (unsupported is not None or not _TORCH_ON_CPU.get()):
        return None
    if device == "auto":
        if unsupported is not None:
            return None
        try:
            torch = importlib.import_module("torch")
        except ImportError:
            return None
        return resolve_device("cuda", torch) if torch.cuda.is_available() else None
    if unsupported is not None:
        raise ValueError(f"{what}(device={device!r}) does not run on torch for "
                         f"{unsupported}; use device='cpu' (or 'auto', which falls "
                         "back to the CPU).")
    return resolve_device(device, import_torch(f"{what}(device={device!r})"), strict=True)


def inference_device(device, what, *, unsupported=None):
    """The torch device that a fitted model's inference runs on, or None for the numba path.

    :func:`fit_device` for a model that may have been fitted elsewhere: a
    CUDA device that is missing (or torch itself) warns and gives the numba
    path instead of raising, and so does what cannot run on torch
    (``unsupported``), silently.

    Parameters
    ----------
    device : str
        The estimator's ``device``.
    what : str
        The estimator's name, for the warning.
    unsupported : str, default=None
        Why this call has no torch executor, or None.

    Returns
    -------
    device : torch.device or None

    Examples
    --------
    >>> from skunsup.utils._torch import inference_device
    >>> inference_device("cpu", "TSNE") is None
    True
    """
    if unsupported is not None:
        return None
    if device in ("cpu", "auto"):
        return fit_device(device, what)
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        warnings.warn(f"{what}(device={device!r}): torch is not installed; running on the "
                      "CPU instead.", UserWarning, stacklevel=3)
        return None
    resolved = resolve_device(device, torch, strict=False)
    return None if resolved.type == "cpu" else resolved


def as_tensor(array, device, torch):
    """A torch tensor of the numpy ``array`` on ``device``, for reading only.

    On the CPU the tensor shares the array's memory, read-only arrays
    included (torch's warning about them is silenced: the executors never
    write into their data); on another device it is a copy.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skunsup.utils._torch import as_tensor
    >>> as_tensor(np.ones(2), torch.device("cpu"), torch)
    tensor([1., 1.], dtype=torch.float64)
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array).to(device)


@contextlib.contextmanager
def full_precision_matmul(torch):
    """Float32 matrix products in IEEE float32 while inside, not TF32.

    TF32 rounds the factors of every product to 10 bits of mantissa (about
    5e-4 relative), five times the 1e-4 within which a k-means inertia must
    match the CPU fit and fifty times the 1e-5 of PCA's explained variances.
    A user (or a library) may have allowed TF32 globally (it is off by
    default); the torch executors of KMeans and PCA turn it off around their
    products and restore the previous setting after. torch's newer
    ``fp32_precision`` setting is used where it exists (mixing it with the
    older ``allow_tf32`` in one process is an error in recent torch).

    Examples
    --------
    >>> import torch
    >>> from skunsup.utils._torch import full_precision_matmul
    >>> with full_precision_matmul(torch):
    ...     torch.backends.cuda.matmul.fp32_precision
    'ieee'
    """
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):
        previous = matmul.fp32_precision
        matmul.fp32_precision = "ieee"
        try:
            yield
        finally:
            matmul.fp32_precision = previous
    else:
        previous = matmul.allow_tf32
        matmul.allow_tf32 = False
        try:
            yield
        finally:
            matmul.allow_tf32 = previous
