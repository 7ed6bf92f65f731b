"""The documentation: built as a user builds it, and true to the code and the benchmarks.

The slow test builds the HTML documentation exactly as ``docs/install.rst`` and
the README tell a user to (every gallery example executed, ``sphinx -n -W``:
every cross-reference must resolve and every warning fails the build), then
checks every internal link of the result. The fast tests check what a build
cannot: the README's example, that the quoted benchmark figures exist in
``benchmarks/RESULTS.md``, that no figure is quoted by hand, and that every
public name and every extra is documented.
"""

import ast
import contextlib
import importlib.util
import io
import os
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
RESULTS_MD = ROOT / "benchmarks" / "RESULTS.md"
README_TABLES = re.compile(r"<!-- benchmark tables.*?<!-- end of benchmark tables -->", re.S)
# the pages a person writes (generated ones are left out)
DOC_SOURCES = sorted(
    [*DOCS.glob("*.rst"), *(DOCS / "user_guide").glob("*.rst"), DOCS / "examples" / "README.txt"]
)
EXAMPLES = sorted((DOCS / "examples").glob("plot_*.py"))


def _bench_tables():
    """``docs/_ext/bench_tables.py``, the parser the documentation build uses."""
    path = DOCS / "_ext" / "bench_tables.py"
    spec = importlib.util.spec_from_file_location("bench_tables", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ the README
def _readme_ten_lines():
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## Ten lines\n.*?```python\n(.*?)```", text, re.S | re.M)
    assert match, "the README has no python block under '## Ten lines'"
    return match.group(1)


def test_readme_ten_lines_run_without_fashion_mnist(monkeypatch, tmp_path):
    """The README's example works on a machine without the Debian package."""
    from skunsup.datasets import _fashion_mnist, find_fashion_mnist

    # the loader looks in $SKUNSUP_DATA, then in DEFAULT_DATA_HOME: both empty
    monkeypatch.setenv(_fashion_mnist.DATA_ENV_VAR, str(tmp_path / "empty"))
    monkeypatch.setattr(_fashion_mnist, "DEFAULT_DATA_HOME", tmp_path / "nothing here")
    assert find_fashion_mnist() is None

    code = _readme_ten_lines()
    assert len(code.strip().splitlines()) <= 10
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {"__name__": "__main__"})
    assert "scikit-learn digits" in out.getvalue()


def test_readme_says_where_the_tour_report_lands():
    from skunsup._cli import build_parser

    text = README.read_text(encoding="utf-8")
    default_out = build_parser().parse_args(["tour"]).out
    assert f"{default_out}/report.md" in text


# ------------------------------------------------------------------ the extras
def _extras():
    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project["optional-dependencies"], project["dependencies"]


def test_every_extra_is_documented():
    extras, _ = _extras()
    readme = README.read_text(encoding="utf-8")
    install = (DOCS / "install.rst").read_text(encoding="utf-8")
    for extra in extras:
        assert f"| `{extra}` |" in readme, f"extra {extra!r} missing from the README's table"
        assert re.search(rf"^``{extra}``$", install, re.M), f"extra {extra!r} not in install.rst"


# distribution names of the modules the gallery imports, where they differ
_DISTRIBUTIONS = {"sklearn": "scikit-learn", "skunsup": None, "mpl_toolkits": "matplotlib"}


def test_docs_extra_installs_what_the_gallery_imports():
    extras, core = _extras()
    installed = {re.split(r"[<>=!~\[ ;]", requirement)[0].lower() for requirement in
                 [*core, *extras["docs"]]}
    for script in EXAMPLES:
        for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names:
                    continue
                distribution = _DISTRIBUTIONS.get(top, top)
                if distribution is not None:
                    assert distribution.lower() in installed, (
                        f"{script.name} imports {top}, which the 'docs' extra does not install")


# ------------------------------------------------------------------ the API page
def test_api_reference_lists_every_public_name():
    import skunsup

    api = (DOCS / "api.rst").read_text(encoding="utf-8")
    sections = re.split(r"^\.\. automodule:: ", api, flags=re.M)[1:]
    listed = {}
    for section in sections:
        module, _, body = section.partition("\n")
        listed[module.strip()] = set(re.findall(r"^   (\w+)$", body, re.M))
    for name in skunsup._SUBPACKAGES:
        module = importlib.import_module(f"skunsup.{name}")
        missing = set(module.__all__) - listed.get(module.__name__, set())
        assert not missing, f"docs/api.rst does not list {sorted(missing)} of {module.__name__}"


# ------------------------------------------------------------------ figures
def test_results_md_parses():
    sections = _bench_tables().parse_results(RESULTS_MD)
    assert sections
    for section in sections.values():
        assert section.command and section.date and section.machine, section.name
        assert section.columns and section.rows, section.name


def test_quoted_benchmark_figures_are_in_results_md():
    """Every :bench: role and benchmark-table directive names a real section, row
    and column of RESULTS.md (the build quotes them from there)."""
    bench = _bench_tables()
    sections = bench.parse_results(RESULTS_MD)
    n_quotes = 0
    for page in DOC_SOURCES:
        text = page.read_text(encoding="utf-8")
        for reference in re.findall(r":bench:`([^`]+)`", text):
            assert bench.lookup(sections, reference), (page.name, reference)
            n_quotes += 1
        directives = r"^\.\. benchmark-table:: (\S+)\n((?:   :\w+:.*\n)*)"
        for match in re.finditer(directives, text, re.M):
            name, options = match.group(1), match.group(2)
            assert name in sections, (page.name, name)
            columns = re.search(r":columns: (.*)", options)
            if columns:
                import csv

                for column in next(csv.reader([columns.group(1)], skipinitialspace=True)):
                    sections[name].column_index(column.strip())
            n_quotes += 1
    assert n_quotes > 10


# "4.0 s", "0.8 ms", "12 seconds", "5 times faster", "1.5-7x", "3.7×": speed figures
_FIGURE = re.compile(
    r"\d[\d,.]*\s*(?:-|–|to)?\s*\d*[\d,.]*\s*"
    r"(?:ms|s|seconds?|minutes?|min|hours?)\b(?!-)"
    r"|\d[\d.]*\s*(?:x|×|times)\s+(?:faster|slower|the|as|its)"
    r"|\d[\d.]*\s*(?:-|–)\s*\d[\d.]*\s*(?:x|×)\b"
)


_VERBATIM = re.compile(r"^\s*\.\. (?:code-block|code|math|benchmark-table|command-help)::"
                       r"|(?<!\.\. )[^.]::$")


def _prose(text):
    """The text outside code blocks, literals, math and :bench: roles."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # markdown code
    kept, base = [], None
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        if base is not None:
            if not line.strip() or indent > base:
                continue  # the body of a literal block or of a verbatim directive
            base = None
        if _VERBATIM.search(line.rstrip()):
            base = indent
        kept.append(line)
    text = "\n".join(kept)
    text = re.sub(r":(?:math|bench):`[^`]*`", "", text)
    text = re.sub(r"``[^`]*``", "", text)
    return re.sub(r"`[^`]*`", "", text)


def _example_prose(script):
    """A gallery script's text: its docstring and its comments."""
    text = script.read_text(encoding="utf-8")
    comments = [line.strip()[1:] for line in text.splitlines() if line.strip().startswith("#")]
    return (ast.get_docstring(ast.parse(text)) or "") + "\n" + "\n".join(comments)


def test_no_figure_is_quoted_by_hand():
    """Timings and speed-ups in the docs come from RESULTS.md (a :bench: role or
    a benchmark-table), so that they cannot drift; the README quotes none."""
    offenders = []
    pages = [(page, page.read_text(encoding="utf-8")) for page in DOC_SOURCES]
    pages += [(script, _example_prose(script)) for script in EXAMPLES]
    for page, text in pages:
        for match in _FIGURE.finditer(_prose(text)):
            offenders.append(f"{page.relative_to(ROOT)}: {match.group(0)!r}")
    readme = README_TABLES.sub("", README.read_text(encoding="utf-8"))
    for match in _FIGURE.finditer(_prose(readme)):
        offenders.append(f"README.md: {match.group(0)!r}")
    assert not offenders, "figures not taken from benchmarks/RESULTS.md:\n" + "\n".join(offenders)


def _public_docstrings():
    import inspect

    import skunsup

    for package in skunsup._SUBPACKAGES:
        module = importlib.import_module(f"skunsup.{package}")
        for name in module.__all__:
            obj = getattr(module, name)
            yield f"{module.__name__}.{name}", inspect.getdoc(obj) or ""
            if inspect.isclass(obj):
                for member, value in vars(obj).items():
                    if callable(value) and not member.startswith("_"):
                        yield f"{module.__name__}.{name}.{member}", inspect.getdoc(value) or ""


def test_no_figure_is_quoted_by_hand_in_docstrings():
    """The API reference is documentation too: no timings typed into docstrings."""
    quoting = {name for name, doc in _public_docstrings() if _FIGURE.search(_prose(doc))}
    assert not quoting, f"figures quoted by hand in {sorted(quoting)}"


# ------------------------------------------------------------------ the build
class _Links(HTMLParser):
    """The ids of a page and the targets of its links."""

    def __init__(self):
        super().__init__()
        self.ids, self.links = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        for key in ("href", "src"):
            if attrs.get(key) and not (tag == "link" and attrs.get("rel") == "preconnect"):
                self.links.append(attrs[key])


def _parse(path, cache):
    if path not in cache:
        parser = _Links()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        cache[path] = parser
    return cache[path]


def broken_internal_links(html_dir):
    """``page: link`` for each relative link to a missing file or anchor."""
    html_dir = Path(html_dir)
    cache, broken = {}, []
    pages = [page for page in html_dir.rglob("*.html")
             if page.relative_to(html_dir).parts[0] not in ("_static", "_sources")]
    for page in sorted(pages):
        for link in _parse(page, cache).links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("javascript:", "data:")):
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(html_dir)}: {link}")
            elif parts.fragment and target.suffix == ".html":
                if unquote(parts.fragment) not in _parse(target, cache).ids:
                    broken.append(f"{page.relative_to(html_dir)}: {link} (no such anchor)")
    return broken


@pytest.mark.slow
def test_docs_build_nitpicky_with_gallery_and_links(tmp_path):
    """The user's build: gallery executed, ``-n -W``, then every internal link."""
    pytest.importorskip("sphinx")
    pytest.importorskip("sphinx_gallery")
    pytest.importorskip("pydata_sphinx_theme")
    pytest.importorskip("torch")
    html = tmp_path / "html"
    env = {key: value for key, value in os.environ.items() if not key.startswith("SKUNSUP_DOCS")}
    env.update(SKUNSUP_DOCS_RERUN="1", MPLBACKEND="Agg")
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-n", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(html)],
        capture_output=True, text=True, env=env, cwd=ROOT,
    )
    seconds = time.perf_counter() - start
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-20000:]

    times = (DOCS / "sg_execution_times.rst").read_text(encoding="utf-8")
    gallery = re.search(r"\*\*(\d+:\d+\.\d+)\*\* total execution time for (\d+) files", times)
    print(f"docs build {seconds:.0f} s; gallery {gallery.group(1)} for {gallery.group(2)} "
          "examples")
    assert int(gallery.group(2)) == len(EXAMPLES)

    assert not broken_internal_links(html), "\n".join(broken_internal_links(html))

    # every example ran and drew
    for script in EXAMPLES:
        page = (html / "auto_examples" / f"{script.stem}.html").read_text(encoding="utf-8")
        assert f"sphx_glr_{script.stem}_001.png" in page, f"{script.name} drew no figure"

    # the methods of every class are rendered on its page, with their docstrings
    from skunsup.utils import all_estimators

    for name, cls in all_estimators():
        module = cls.__module__.rsplit("._", 1)[0]
        if not importlib.import_module(module).__dict__.get(name) is cls:
            continue
        page = html / "generated" / f"{module}.{name}.html"
        if not page.exists():
            continue  # not in the API reference: test_api_reference_lists_every_public_name
        ids = _parse(page, {}).ids
        for method in ("fit", "get_params", "set_params"):
            assert f"{module}.{name}.{method}" in ids, f"{page.name} lacks {method}"
