"""Utilities shared by the skunsup estimators."""

from skunsup.utils.discovery import all_estimators

__all__ = ["all_estimators"]
