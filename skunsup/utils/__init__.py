"""Utilities shared by the skunsup estimators."""

from skunsup.utils._callbacks import ProgressBar
from skunsup.utils._persistence import get_trusted_types
from skunsup.utils.discovery import all_estimators

__all__ = ["ProgressBar", "all_estimators", "get_trusted_types"]
