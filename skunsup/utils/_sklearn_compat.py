"""The one place where skunsup touches scikit-learn's private API.

scikit-learn keeps its parameter-validation machinery and ``_fit_context`` private.
Every skunsup module imports them from here, so that a change in a future
scikit-learn release is mended in one file.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import (
    Hidden,
    Interval,
    Options,
    RealNotInt,
    StrOptions,
    validate_params,
)

__all__ = [
    "Hidden",
    "Interval",
    "Options",
    "RealNotInt",
    "StrOptions",
    "_fit_context",
    "validate_params",
]
