"""The tests of scikit-learn's own files that skunsup's estimators are known to fail.

This is the only place where such failures are declared. A key is a test's
name with its parameters (``"test_pca_score[full]"``) or a test function's
name (all its parameters); the value says why skunsup differs. Every entry is
either a documented difference (docs/user_guide/differences.rst) or a debt.
They are strict expected failures: once a test passes, its entry must go.

Failures that only concern the wording of an error message (the test matches
scikit-learn's message with ``pytest.raises(match=...)`` while skunsup raises
the same exception type with its own words) are listed apart, in
``MESSAGE_WORDING``, each reason starting with ``"wording:"``: they are counted
apart from behavioural differences (tests/conftest.py prints both counts).
"""

KMEANS = {}

PCA = {}

TSNE = {}

MESSAGE_WORDING = {}

BEHAVIOUR = {**KMEANS, **PCA, **TSNE}
