"""Shared machinery for skunsup's benchmarks.

Every benchmark script times skunsup and its peer in the same process,
alternating the two so that the shared machine's drift cancels, reports quality
next to speed, and calls :func:`record` which stores the run as JSON under
``benchmarks/results/`` and regenerates ``benchmarks/RESULTS.md``.
"""

import datetime as _dt
import json
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"
RESULTS_MD = HERE / "RESULTS.md"


def load_fashion_mnist_float32(subset="all"):
    """Fashion-MNIST as float32 in [0, 1] with its labels (needs the Debian package)."""
    from skunsup.datasets import load_fashion_mnist

    X, y = load_fashion_mnist(subset=subset, return_X_y=True)
    return X.astype(np.float32), y


def timed(func, *args, **kwargs):
    """Call ``func`` and return ``(seconds, result)``."""
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return time.perf_counter() - start, result


def interleave(contenders, repeats=3):
    """Run each contender ``repeats`` times, alternating between them.

    Parameters
    ----------
    contenders : dict of str -> callable
        Each callable takes no argument and returns a result (kept from the last run).
    repeats : int
        Rounds; in each round every contender runs once, in a rotating order.

    Returns
    -------
    times : dict of str -> list of float
        Wall seconds of every run.
    results : dict of str -> object
        The last result of every contender.
    """
    names = list(contenders)
    times = {name: [] for name in names}
    results = {}
    for round_index in range(repeats):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            seconds, results[name] = timed(contenders[name])
            times[name].append(seconds)
    return times, results


def median(values):
    """Median of a list of numbers."""
    return float(statistics.median(values))


def machine_info():
    """Cores, BLAS / OpenMP thread pools and library versions of this run."""
    import numba
    import scipy
    import sklearn
    from threadpoolctl import threadpool_info

    pools = [
        f"{pool.get('internal_api')} ({pool.get('architecture', '?')}, "
        f"{pool.get('num_threads')} threads)"
        for pool in threadpool_info()
    ]
    info = {
        "cores": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "numba": numba.__version__,
        "numba_threads": numba.config.NUMBA_NUM_THREADS,
        "thread_pools": sorted(set(pools)),
    }
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        pass
    return info


def record(benchmark, rows, *, notes="", command=None):
    """Store one benchmark run and regenerate ``RESULTS.md``.

    Parameters
    ----------
    benchmark : str
        Name of the benchmark (e.g. ``"kmeans"``); one JSON file per name keeps
        its latest run, and ``history.jsonl`` keeps every run.
    rows : list of dict
        One dict per table row; keys are the column headers, in order.
    notes : str
        Markdown shown under the table (goals, what the columns mean).
    command : str, default=None
        The exact command that produced the run (default: this process' argv).
    """
    RESULTS_DIR.mkdir(exist_ok=True)
    run = {
        "benchmark": benchmark,
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command or "python " + " ".join(shlex.quote(a) for a in sys.argv),
        "machine": machine_info(),
        "rows": rows,
        "notes": notes,
    }
    (RESULTS_DIR / f"{benchmark}.json").write_text(json.dumps(run, indent=1) + "\n")
    with open(RESULTS_DIR / "history.jsonl", "a") as history:
        history.write(json.dumps(run) + "\n")
    write_results_md()
    print(render_table(rows))


def _format(value):
    if isinstance(value, float):
        if value == 0 or 1e-3 <= abs(value) < 1e5:
            return f"{value:.4g}"
        return f"{value:.3e}"
    return str(value)


def render_table(rows):
    """A markdown table from a list of dicts (columns in first-seen order)."""
    columns = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_format(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


def write_results_md():
    """Regenerate ``RESULTS.md`` from the latest run of every benchmark."""
    sections = [
        "# Benchmark results\n",
        "Generated by `benchmarks/_harness.py` from `benchmarks/results/*.json`; each "
        "section is the latest run of one script, with the command that produced it. "
        "Ours and the peer's figures in a table come from the same process, "
        "interleaved. Do not edit by hand: rerun the benchmark.\n",
    ]
    for path in sorted(RESULTS_DIR.glob("*.json")):
        run = json.loads(path.read_text())
        machine = run["machine"]
        sections += [
            f"## {run['benchmark']}\n",
            f"Command: `{run['command']}`  \nDate: {run['date']}  \n"
            f"Machine: {machine['cores']} cores, {machine['cpu']}; "
            f"numpy {machine['numpy']}, scikit-learn {machine['scikit-learn']}, "
            f"numba {machine['numba']}"
            + (f", torch {machine['torch']}" if "torch" in machine else "")
            + f"; pools: {', '.join(machine['thread_pools'])}\n",
            render_table(run["rows"]) + "\n",
        ]
        if run.get("notes"):
            sections.append(run["notes"].strip() + "\n")
    RESULTS_MD.write_text("\n".join(sections))
