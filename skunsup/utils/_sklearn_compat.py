"""The one place where skunsup touches scikit-learn's private API.

scikit-learn keeps its parameter-validation machinery, ``_fit_context`` and its
array API namespace helpers private. Every skunsup module imports them from
here, so that a change in a future scikit-learn release is mended in one file.
"""

from sklearn.base import _fit_context
from sklearn.utils._array_api import (
    _convert_to_numpy,
    _is_numpy_namespace,
    get_namespace,
    get_namespace_and_device,
)
from sklearn.utils._param_validation import (
    Hidden,
    Interval,
    Options,
    RealNotInt,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)

__all__ = [
    "Hidden",
    "Interval",
    "Options",
    "RealNotInt",
    "StrOptions",
    "_convert_to_numpy",
    "_fit_context",
    "_is_numpy_namespace",
    "get_namespace",
    "get_namespace_and_device",
    "validate_parameter_constraints",
    "validate_params",
]
