"""The benchmark harness: interleaving, tables, and the RESULTS.md it regenerates."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import _harness  # noqa: E402


def test_interleave_runs_every_contender_in_rotating_order():
    calls = []
    contenders = {name: (lambda n=name: calls.append(n) or n) for name in "abc"}
    times, results = _harness.interleave(contenders, repeats=3)
    assert calls == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert results == {"a": "a", "b": "b", "c": "c"}
    assert all(len(t) == 3 for t in times.values())


def test_render_table_keeps_column_order_and_formats_numbers():
    table = _harness.render_table([{"method": "ours", "seconds": 1.23456}, {"ratio": 1e-7}])
    lines = table.splitlines()
    assert lines[0] == "| method | seconds | ratio |"
    assert "1.235" in lines[2] and "1.000e-07" in lines[3]


def test_record_writes_json_history_and_results_md(tmp_path, monkeypatch):
    monkeypatch.setattr(_harness, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(_harness, "RESULTS_MD", tmp_path / "RESULTS.md")
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{_harness.README_START}\nold\n{_harness.README_END}\nrest\n")
    monkeypatch.setattr(_harness, "README_MD", readme)
    _harness.record("demo", [{"method": "ours", "s": 1.0}], notes="Goal: be fast.",
                    command="python bench_demo.py")
    run = json.loads((tmp_path / "results" / "demo.json").read_text())
    assert run["command"] == "python bench_demo.py" and run["machine"]["cores"] >= 1
    markdown = (tmp_path / "RESULTS.md").read_text()
    assert "## demo" in markdown and "`python bench_demo.py`" in markdown
    assert "Goal: be fast." in markdown
    assert len((tmp_path / "results" / "history.jsonl").read_text().splitlines()) == 1
    text = readme.read_text()
    assert "old" not in text and "| ours | 1 |" in text
    assert text.startswith("intro\n") and text.endswith("rest\n")


@pytest.mark.parametrize("values, expected", [([3.0, 1.0, 2.0], 2.0), ([1.0, 2.0], 1.5)])
def test_median(values, expected):
    assert _harness.median(values) == expected
