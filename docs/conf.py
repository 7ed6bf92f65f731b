"""Sphinx configuration of the skunsup documentation (no network needed)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # _gallery_hooks

import skunsup  # noqa: E402

project = "skunsup"
author = "The skunsup developers"
copyright = "2026, The skunsup developers"
release = skunsup.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
numpydoc_show_class_members = False
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]

html_theme = "pydata_sphinx_theme"
html_title = "skunsup"

# Cross-links to scikit-learn and numpy need their inventories from the network:
# opt in with SKUNSUP_DOCS_INTERSPHINX=1, so that offline builds (CI) stay clean
# under -W.
intersphinx_mapping = {}
if os.environ.get("SKUNSUP_DOCS_INTERSPHINX"):
    intersphinx_mapping = {
        "sklearn": ("https://scikit-learn.org/stable/", None),
        "numpy": ("https://numpy.org/doc/stable/", None),
    }

# SKUNSUP_DOCS_QUICK=1 (CI) builds the gallery pages without executing them.
sphinx_gallery_conf = {
    "reset_modules": ("matplotlib", "_gallery_hooks.reset_torch_threads"),
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "plot_gallery": "False" if os.environ.get("SKUNSUP_DOCS_QUICK") else "True",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
}


def setup(app):
    from _gallery_hooks import escape_shape_attributes

    app.connect("autodoc-process-docstring", escape_shape_attributes)
