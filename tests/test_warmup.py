"""``python -m skunsup warmup``: the kernels it finds and the lines it prints."""

from skunsup import _warmup
from skunsup._cli import main


def test_numba_kernels_lists_the_kernels_not_the_inline_helpers():
    kernels = _warmup.numba_kernels()
    assert any(name.startswith("skunsup.cluster.") for name in kernels)
    assert any(name.startswith("skunsup.manifold.") for name in kernels)
    assert all(k.targetoptions.get("inline") != "always" for k in kernels.values())


def test_warmup_command_runs_every_section_and_reports(monkeypatch, capsys):
    ran = []
    monkeypatch.setattr(_warmup, "SECTIONS", {"one": lambda: ran.append(1),
                                              "two": lambda: ran.append(2)})
    assert main(["warmup"]) == 0
    out = capsys.readouterr().out
    assert ran == [1, 2]
    assert "one: " in out and "two: " in out
    assert "kernels compiled and cached" in out


def test_the_fits_of_every_section_run():
    # the real sections, on their tiny data (kernels are cached by earlier tests)
    for run in _warmup.SECTIONS.values():
        run()
