"""Sphinx configuration of the skunsup documentation (no network needed).

Build it as CI does (``tests/test_docs.py``)::

    python -m sphinx -n -W --keep-going -b html docs docs/_build/html

``-n`` (nitpicky, also set below) makes every cross-reference that does not
resolve a warning and ``-W`` makes warnings errors. The gallery examples run
during the build; ``SKUNSUP_DOCS_QUICK=1`` skips running them.
"""

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))
sys.path.insert(0, str(DOCS))  # _gallery_hooks
sys.path.insert(0, str(DOCS / "_ext"))  # local extensions

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
    "bench_tables",  # figures from benchmarks/RESULTS.md
    "cli_help",  # the command line's --help texts
    "offline_refs",  # scikit-learn, scipy, numpy, ... links without inventories
]

autosummary_generate = True
# Methods are listed and rendered by our class template
# (_templates/autosummary/class.rst), not by numpydoc's member tables.
numpydoc_show_class_members = False
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.codeobj.json"]

# Every cross-reference must resolve.
nitpicky = True
nitpick_ignore = []

html_theme = "pydata_sphinx_theme"
html_title = "skunsup"
html_theme_options = {"navigation_with_keys": False}

# With the network, SKUNSUP_DOCS_INTERSPHINX=1 links through the projects'
# inventories; offline (CI), offline_refs resolves the same references.
intersphinx_mapping = {}
if os.environ.get("SKUNSUP_DOCS_INTERSPHINX"):
    intersphinx_mapping = {
        "sklearn": ("https://scikit-learn.org/stable/", None),
        "numpy": ("https://numpy.org/doc/stable/", None),
        "scipy": ("https://docs.scipy.org/doc/scipy/", None),
    }

# SKUNSUP_DOCS_QUICK=1 builds the gallery pages without executing them.
sphinx_gallery_conf = {
    "reset_modules": ("matplotlib", "_gallery_hooks.reset_torch_threads"),
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "plot_gallery": "False" if os.environ.get("SKUNSUP_DOCS_QUICK") else "True",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    # "Gallery examples using X" at the end of every API page
    "doc_module": ("skunsup",),
    "backreferences_dir": "generated/backreferences",
    # an example that raises fails the build
    "only_warn_on_example_error": False,
    # SKUNSUP_DOCS_RERUN=1 (the test suite) runs every example, also those
    # whose output from an earlier build is still in auto_examples/
    "run_stale_examples": bool(os.environ.get("SKUNSUP_DOCS_RERUN")),
}


def setup(app):
    from _gallery_hooks import escape_shape_attributes

    app.connect("autodoc-process-docstring", escape_shape_attributes)
