"""The main job, ``python -m skunsup tour``, on small digits data."""

import subprocess
import sys

import pytest

from skunsup._cli import build_parser, main
from skunsup._tour import SECTIONS, available_sections, run_tour

pytest.importorskip("matplotlib")


def _section_name(module):
    return module.__name__.rsplit(".", 1)[-1]


@pytest.mark.parametrize("section", available_sections(), ids=_section_name)
def test_every_section_runs_and_reports(section, tmp_path):
    for package in getattr(section, "REQUIRES", ()):
        pytest.importorskip(package)
    name = _section_name(section)
    ctx = run_tour(data="digits", n_samples=300, quick=True, out=tmp_path, sections=[name])
    report = (tmp_path / "report.md").read_text()
    assert f"## {section.TITLE}" in report
    pngs = list(tmp_path.glob("*.png"))
    assert pngs, f"section {name} drew no figure"
    for row in ctx.rows:
        assert row.section == name and row.seconds >= 0


def test_sections_are_registered_in_order():
    names = [_section_name(m) for m in available_sections()]
    assert names == [s for s in SECTIONS if s in names]
    assert names[0] == "data"


def test_cli_writes_report_and_prints_table(tmp_path, capsys):
    status = main(["tour", "--data", "digits", "--n-samples", "100", "--quick",
                   "--sections", "data", "--out", str(tmp_path / "out")])
    assert status == 0
    assert (tmp_path / "out" / "report.md").exists()
    assert "| section | method |" in capsys.readouterr().out


def test_cli_rejects_bad_arguments():
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["tour", "--data", "mnist"])
    with pytest.raises(SystemExit):
        main(["tour", "--n-samples", "3"])


def test_python_dash_m_shows_help():
    result = subprocess.run([sys.executable, "-m", "skunsup", "tour", "--help"],
                            capture_output=True, text=True, check=True)
    assert "--quick" in result.stdout
