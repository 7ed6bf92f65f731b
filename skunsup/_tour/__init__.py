"""``python -m skunsup tour``: every method of the lecture, end to end, with a report.

Each section is a module of :mod:`skunsup._tour.sections` with a ``TITLE``, an
optional ``REQUIRES`` (import names of optional extras) and ``run(ctx)`` taking a
:class:`~skunsup._tour._context.TourContext`. Sections listed in ``SECTIONS``
whose module does not exist yet are left out.
"""

import importlib
import importlib.util
import time
from pathlib import Path

from skunsup._tour._context import TourContext
from skunsup.datasets import load_tour_data

SECTIONS = ["data", "kmeans", "pca", "tsne", "autoencoder", "vae"]

QUICK_SAMPLES = 2_000
DEFAULT_SAMPLES = 10_000


def available_sections():
    """Import and return the section modules that exist, in tour order."""
    modules = []
    for name in SECTIONS:
        if importlib.util.find_spec(f"skunsup._tour.sections.{name}") is not None:
            modules.append(importlib.import_module(f"skunsup._tour.sections.{name}"))
    return modules


def _missing_requirements(module):
    return [pkg for pkg in getattr(module, "REQUIRES", ()) if importlib.util.find_spec(pkg) is None]


def run_tour(data="auto", n_samples=None, quick=False, out="skunsup-tour", random_state=0,
             sections=None):
    """Run the tour and write ``report.md`` and the figures into ``out``.

    Parameters
    ----------
    data : {'auto', 'fashion-mnist', 'digits'}, default='auto'
        The image data set (see :func:`skunsup.datasets.load_tour_data`).
    n_samples : int, default=None
        Images used; default 10,000 (2,000 with ``quick``).
    quick : bool, default=False
        Smaller sizes and fewer iterations everywhere.
    out : str or path-like, default='skunsup-tour'
        Output folder, created when missing.
    random_state : int, default=0
        Seed of every random choice in the tour.
    sections : list of str, default=None
        Run only these sections (names from ``SECTIONS``).

    Returns
    -------
    context : TourContext
        With the summary ``rows`` and the ``report`` paragraphs.
    """
    import matplotlib

    matplotlib.use("Agg")
    if n_samples is None:
        n_samples = QUICK_SAMPLES if quick else DEFAULT_SAMPLES
    bunch = load_tour_data(data, n_samples=n_samples, random_state=random_state)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = TourContext(
        X=bunch.data, y=bunch.target, image_shape=bunch.image_shape,
        target_names=bunch.target_names, data_name=bunch.name, out=out, quick=quick,
        random_state=random_state,
    )
    ctx.section = "tour"
    if bunch.name != "Fashion-MNIST" and data == "auto":
        ctx.progress("Fashion-MNIST is not installed, using scikit-learn's digits instead "
                     "(apt-get install dataset-fashion-mnist for the real thing)")
    ctx.progress(f"{bunch.name}: {ctx.X.shape[0]} images of {bunch.image_shape}, output in {out}")
    for module in available_sections():
        name = module.__name__.rsplit(".", 1)[-1]
        if sections is not None and name not in sections:
            continue
        ctx.section = name
        ctx.report.append(f"## {module.TITLE}\n")
        missing = _missing_requirements(module)
        if missing:
            ctx.progress(f"skipped: needs {', '.join(missing)} (pip install 'skunsup[all]')")
            ctx.add_text(f"Skipped: needs {', '.join(missing)}.")
            continue
        start = time.perf_counter()
        module.run(ctx)
        ctx.progress(f"done in {time.perf_counter() - start:.1f}s")
    _write_report(ctx)
    return ctx


def summary_table(rows):
    """The summary table as markdown."""
    lines = ["| section | method | seconds | quality | value |", "|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row.section} | {row.method} | {row.seconds:.2f} | {row.quality} | "
                     f"{row.value:.4g} |")
    return "\n".join(lines)


def _write_report(ctx):
    table = summary_table(ctx.rows)
    header = (f"# skunsup tour\n\nData: {ctx.data_name}, {ctx.X.shape[0]} images of "
              f"{ctx.image_shape[0]}x{ctx.image_shape[1]} pixels"
              f"{' (quick mode)' if ctx.quick else ''}.\n\n{table}\n")
    (ctx.out / "report.md").write_text(header + "\n" + "\n".join(ctx.report))
    print(table)
    print(f"\nReport: {ctx.out / 'report.md'}")
