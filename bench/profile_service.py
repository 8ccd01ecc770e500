"""Run one service under pyinstrument and write its text report when the service stops (SIGTERM).

``python -m bench.profile_service poller bench/out/b4_profile_poller.txt``. pyinstrument comes from a
separate virtualenv on ``PYTHONPATH`` (it is no dependency of the project), hence the dynamic import.
The report is written in ``finally``, so a service stopped by its usual graceful SIGTERM leaves it.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any


def main(service: str, report: Path) -> None:
    pyinstrument: Any = importlib.import_module("pyinstrument")
    from cli.services import run

    profiler = pyinstrument.Profiler(interval=0.005, async_mode="disabled")
    profiler.start()
    try:
        run(service)  # type: ignore[arg-type]  # the enum is built from the same names
    finally:
        profiler.stop()
        report.write_text(profiler.output_text(unicode=True, show_all=False))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
