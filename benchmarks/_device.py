"""Record a benchmark run made on the device (GPU) machine into RESULTS.md.

The bench scripts write ``--json-out`` files there; this stores them here in the
harness' format, with the GPU machine's description instead of this machine's.
"""

import datetime as _dt
import json

from _harness import RESULTS_DIR, write_results_md


def record_device_run(benchmark, json_path, machine_text):
    """Store rows from a device run as ``results/<benchmark>.json`` and regenerate RESULTS.md.

    ``machine_text`` is what the device reported (GPU model, driver, library versions).
    """
    run = json.loads(open(json_path).read())
    versions = dict(zip(*[iter(machine_text.split("\n")[-1].split())] * 2))
    gpu_line = [line for line in machine_text.splitlines() if "NVIDIA" in line][0]
    record = {
        "benchmark": benchmark,
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": f"bash benchmarks/gpu_check.sh (runs: {run['command']})",
        "machine": {
            "cores": 16,
            "cpu": f"x86-64 device machine with one {gpu_line.split(',')[0]} "
                   f"(driver {gpu_line.split(',')[1].strip()})",
            "numpy": versions.get("numpy", "?"),
            "scikit-learn": versions.get("sklearn", "?"),
            "numba": "n/a",
            "torch": versions.get("torch", "?"),
            "thread_pools": ["torch CPU threads 4"],
        },
        "rows": run["rows"],
        "notes": run["notes"],
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"{benchmark}.json").write_text(json.dumps(record, indent=1) + "\n")
    with open(RESULTS_DIR / "history.jsonl", "a") as history:
        history.write(json.dumps(record) + "\n")
    write_results_md()
