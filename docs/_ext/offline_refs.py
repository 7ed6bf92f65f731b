"""Cross-references to other libraries' API without their inventories (offline builds).

Intersphinx needs each project's ``objects.inv`` from the network, and CI builds
offline under ``-n -W``. This extension resolves what intersphinx would have
resolved, for Python's standard library and the libraries below: a reference
such as :class:`sklearn.pipeline.Pipeline` whose target is missing becomes a
link to that library's page of the object, **provided the object can be
imported**, so a misspelt or removed name still fails the nitpicky build. Objects of other
libraries stay unresolved (a warning, an error under ``-W``).

It also rewrites the docstrings that skunsup's classes inherit from
scikit-learn (``get_params``, ``set_output``, ``set_fit_request``, ...): their
``:ref:`` labels and ``:term:`` entries point into scikit-learn's own
documentation, so labels become plain text and glossary terms links to
scikit-learn's glossary.
"""

import importlib
import re
import sys

from docutils import nodes

# top-level package -> URL of the page of a public object, from its full name
_PAGES = {
    "sklearn": "https://scikit-learn.org/stable/modules/generated/{name}.html",
    "scipy": "https://docs.scipy.org/doc/scipy/reference/generated/{name}.html",
    "numpy": "https://numpy.org/doc/stable/reference/generated/{name}.html",
    "matplotlib": "https://matplotlib.org/stable/api/_as_gen/{name}.html",
    "torch": "https://docs.pytorch.org/docs/stable/generated/{name}.html",
    "pandas": "https://pandas.pydata.org/docs/reference/api/{name}.html",
    "dask": "https://docs.dask.org/en/stable/generated/{name}.html",
}
_PYTHON_LIBRARY = "https://docs.python.org/3/library/{module}.html#{name}"
_SKLEARN_GLOSSARY = "https://scikit-learn.org/stable/glossary.html#term-{anchor}"
_PY_ROLES = {"class", "func", "meth", "attr", "obj", "data", "exc"}


def _import_target(name):
    """The object named by a dotted path (module, then attributes), or None."""
    parts = name.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attribute in parts[split:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return None
        return obj
    return None


def external_url(target):
    """URL of an importable object of a known library, or None.

    Methods and attributes link to their class's page with the object's
    anchor, as those projects' own pages do.
    """
    package = target.split(".", 1)[0]
    if package in sys.stdlib_module_names and _import_target(target) is not None:
        return _PYTHON_LIBRARY.format(module=package, name=target)
    if package not in _PAGES or _import_target(target) is None:
        return None
    parts = target.split(".")
    # a method/attribute of a class: the page of the class, anchored
    for split in range(len(parts) - 1, 0, -1):
        owner = _import_target(".".join(parts[:split]))
        if isinstance(owner, type):
            page = _PAGES[package].format(name=".".join(parts[:split]))
            return page if split == len(parts) else f"{page}#{target}"
    return _PAGES[package].format(name=target)


def resolve_external(app, env, node, contnode):
    """``missing-reference`` handler: link importable objects of known libraries."""
    if node.get("refdomain") != "py" or node.get("reftype") not in _PY_ROLES:
        return None
    target = node["reftarget"].lstrip("~.")
    url = external_url(target)
    if url is None:
        return None
    reference = nodes.reference("", "", internal=False, refuri=url,
                                reftitle=f"(in {target.split('.', 1)[0]})")
    reference += contnode
    return reference


_REF = re.compile(r":ref:`([^`<]*?)\s*(?:<[^`>]+>)?`")
_TERM = re.compile(r":term:`([^`<]*?)\s*(?:<([^`>]+)>)?`")


def _glossary_link(match):
    text, term = match.group(1), match.group(2) or match.group(1)
    anchor = re.sub(r"[^a-z0-9]+", "-", term.strip().lower()).strip("-")
    return f"`{text} <{_SKLEARN_GLOSSARY.format(anchor=anchor)}>`__"


def _from_sklearn(obj):
    module = getattr(obj, "__module__", None) or ""
    return module == "sklearn" or module.startswith("sklearn.")


def rewrite_sklearn_docstring(app, what, name, obj, options, lines):
    """Plain text for scikit-learn's labels, its glossary for its terms."""
    if not _from_sklearn(obj):
        return
    for index, line in enumerate(lines):
        if ":ref:`" in line or ":term:`" in line:
            line = _REF.sub(lambda m: m.group(1), line)
            lines[index] = _TERM.sub(_glossary_link, line)


def setup(app):
    app.connect("missing-reference", resolve_external, priority=900)
    app.connect("autodoc-process-docstring", rewrite_sklearn_docstring)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
