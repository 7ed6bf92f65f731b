"""Run scikit-learn's own installed test files against skunsup's estimators.

scikit-learn ships its tests inside its wheel. :func:`load_sklearn_tests`
executes one of those files, unchanged, as a fresh module in which the names of
scikit-learn's estimators (``KMeans``, ``MiniBatchKMeans``, ``PCA``, ``TSNE``) are bound to
skunsup's classes, and returns the tests and fixtures a pytest module needs to
collect them. Nothing of scikit-learn's test code is copied into this project.

A test of scikit-learn's file is *private* when it uses a private name of the
estimator's own subpackage (``sklearn.cluster._kmeans._labels_inertia``,
``sklearn.manifold._barnes_hut_tsne``, ...) or a private attribute or method
of an object (``kmeans._init_centroids(...)``, ``pca._fit_svd_solver``): such
tests check scikit-learn's internals, not the public behaviour a drop-in must
have, and are not collected. Test helpers from ``sklearn.utils`` (private or
not) do not make a test private.
"""

import ast
import importlib
import importlib.util
import inspect
import sys
from contextlib import contextmanager

@contextmanager
def _replaced(replacements):
    """Bind ``{"sklearn.cluster.KMeans": cls}`` in scikit-learn's modules, then restore."""
    saved = []
    for dotted, value in replacements.items():
        module_name, attribute = dotted.rsplit(".", 1)
        module = importlib.import_module(module_name)
        saved.append((module, attribute, getattr(module, attribute)))
        setattr(module, attribute, value)
    try:
        yield
    finally:
        for module, attribute, value in reversed(saved):
            setattr(module, attribute, value)


def _private_names(tree, subpackage):
    """Names a test file imports that are private to ``subpackage`` (e.g. 'sklearn.cluster')."""
    private = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.module is None:
            continue
        in_subpackage = node.module == subpackage or node.module.startswith(subpackage + ".")
        if not in_subpackage:
            continue
        from_private_module = any(
            part.startswith("_") for part in node.module[len(subpackage):].split(".") if part
        )
        for alias in node.names:
            if from_private_module or alias.name.startswith("_"):
                private.add(alias.asname or alias.name)
    return private


def _names_used(function_node):
    return {node.id for node in ast.walk(function_node) if isinstance(node, ast.Name)}


def _uses_private_attribute(function_node):
    return any(
        isinstance(node, ast.Attribute) and node.attr.startswith("_")
        and not node.attr.startswith("__")
        for node in ast.walk(function_node)
    )


def _tests_using(tree, names, check_attributes=False):
    """Top-level tests that use one of ``names``, directly or via a module helper.

    Module-level values built from those names (e.g. a list of solvers) count
    as uses; with ``check_attributes``, so does any private attribute access.
    """
    functions = {
        node.name: node for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    uses = {name: _names_used(node) for name, node in functions.items()}
    names = set(names)
    for node in tree.body:
        if isinstance(node, ast.Assign) and _names_used(node) & names:
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}

    def uses_name(name, seen=()):
        if uses[name] & names:
            return True
        if check_attributes and _uses_private_attribute(functions[name]):
            return True
        return any(
            uses_name(callee, seen + (name,))
            for callee in uses[name] & functions.keys()
            if callee not in seen and callee != name
        )

    return {name for name in functions if name.startswith("test_") and uses_name(name)}


def load_sklearn_tests(module_name, subpackage, replacements):
    """Load scikit-learn's test module ``module_name`` with estimators swapped.

    Parameters
    ----------
    module_name : str
        Dotted name of the installed test module, e.g.
        ``"sklearn.cluster.tests.test_k_means"``.
    subpackage : str
        The subpackage whose private names mark a test as private, e.g.
        ``"sklearn.cluster"``.
    replacements : dict
        ``{"sklearn.cluster.KMeans": skunsup.cluster.KMeans, ...}``: bound while
        the test module is executed, so its imports and the parametrizations
        built at import time take skunsup's classes.

    Returns
    -------
    namespace : dict
        The public tests, the fixtures and ``pytestmark`` of the module, to
        ``globals().update(...)`` in a pytest module.
    private : set of str
        Names of the tests left out because they use scikit-learn's privates.

    Notes
    -----
    Tests that never name a swapped class (scikit-learn's ``k_means`` and
    ``kmeans_plusplus`` functions) still run, but exercise only scikit-learn's code:
    each collected test function gets ``exercises_skunsup`` (a bool) so that
    the share of passing tests counts only those that do (tests/conftest.py).
    """
    spec = importlib.util.find_spec(module_name)
    with open(spec.origin, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    private = _tests_using(tree, _private_names(tree, subpackage), check_attributes=True)
    swapped_names = {dotted.rsplit(".", 1)[1] for dotted in replacements}
    exercising = _tests_using(tree, swapped_names)
    alias = "skunsup_dropin_" + module_name.rsplit(".", 1)[-1]
    swapped_spec = importlib.util.spec_from_file_location(alias, spec.origin)
    module = importlib.util.module_from_spec(swapped_spec)
    sys.modules[alias] = module
    with _replaced(replacements):
        swapped_spec.loader.exec_module(module)
    namespace = {}
    for name, value in vars(module).items():
        if name.startswith("test_") and inspect.isfunction(value) and name not in private:
            value.exercises_skunsup = name in exercising
            namespace[name] = value
        elif name.startswith("Test") and inspect.isclass(value):
            namespace[name] = value
        elif _is_fixture(value):
            namespace[name] = value
    if hasattr(module, "pytestmark"):
        namespace["pytestmark"] = module.pytestmark
    return namespace, private


def _is_fixture(value):
    return type(value).__name__ == "FixtureFunctionDefinition" or hasattr(
        value, "_pytestfixturefunction"
    )

