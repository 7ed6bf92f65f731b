"""What every tour section receives: the data, the output folder, and the report."""

import contextlib
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def one_torch_thread():
    """Run the block with one torch thread, restoring the previous count after it.

    Measured on the shared 2-core machine: two threads made the tour's neural fits
    8-40x slower when other processes were busy (and only ~1.4x faster when idle).
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@dataclasses.dataclass
class TourRow:
    """One line of the tour's summary table."""

    section: str
    method: str
    seconds: float
    quality: str
    value: float


@dataclasses.dataclass
class TourContext:
    """Shared state of one tour run.

    Sections read ``X`` (float32 in [0, 1], one flattened image per row), ``y``,
    ``image_shape``, ``target_names``, ``quick`` and ``random_state``; they
    report with :meth:`add_row`, :meth:`add_text` and :meth:`save_figure`, and
    say what they are doing with :meth:`progress`.
    """

    X: np.ndarray
    y: np.ndarray
    image_shape: tuple
    target_names: list
    data_name: str
    out: Path
    quick: bool = False
    random_state: int = 0
    stream: object = sys.stderr
    rows: list = dataclasses.field(default_factory=list)
    report: list = dataclasses.field(default_factory=list)
    section: str = ""
    _started: float = dataclasses.field(default_factory=time.perf_counter)

    def holdout(self):
        """Train and test row indices: a seeded fifth of X (at least 10 rows) held out."""
        order = np.random.default_rng(self.random_state).permutation(len(self.X))
        n_test = max(len(order) // 5, 10)
        return order[n_test:], order[:n_test]

    def progress(self, message):
        """Print a progress line with the elapsed time."""
        elapsed = time.perf_counter() - self._started
        print(f"[{elapsed:7.1f}s] {self.section}: {message}", file=self.stream, flush=True)

    def add_row(self, method, seconds, quality, value):
        """Add a summary-table row: method, fit seconds, a quality name and value."""
        self.rows.append(TourRow(self.section, method, float(seconds), quality, float(value)))

    def add_text(self, markdown):
        """Append a paragraph of markdown to the report."""
        self.report.append(markdown.strip() + "\n")

    def save_figure(self, figure, name, caption):
        """Save a matplotlib figure as ``out/name.png``, link it in the report, close it."""
        import matplotlib.pyplot as plt

        path = self.out / f"{name}.png"
        figure.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(figure)
        self.report.append(f"![{caption}]({path.name})\n\n*{caption}*\n")
        return path
