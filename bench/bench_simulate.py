"""Simulator wall time and peak memory at 1x and 10x, each in a fresh process and SQLite file.

    .venv/bin/python bench/bench_simulate.py            # 1x and 10x
    .venv/bin/python bench/bench_simulate.py --no-10x   # 1x only
    .venv/bin/python bench/bench_simulate.py --scales 0.5 2

Each scale runs in its own subprocess (so ru_maxrss is that run's peak resident memory) against a
temporary database that is migrated first; the migration is not part of the timing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(scale: float) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tokenecon.simulator.config import SimulationConfig
    from tokenecon.simulator.service import run_simulation

    started = time.perf_counter()
    result = run_simulation(config=SimulationConfig().scaled(scale))
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "scale": scale,
                "seconds": seconds,
                "peak_mb": peak_kb / 1024,
                "counts": result.counts,
                "phases": result.seconds,
            }
        )
    )


def run(scale: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-simulate-") as tmp:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tokenecon.settings.base",
            "DJANGO_DEBUG": "1",
            "SQLITE_PATH": str(Path(tmp) / "bench.sqlite3"),
            "TOKENECON_ARTIFACTS_DIR": str(Path(tmp) / "artifacts"),
            "TOKENECON_VAR_DIR": str(Path(tmp) / "var"),
        }
        env.pop("DATABASE_URL", None)
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(scale)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--no-10x", dest="ten", action="store_false", help="Skip the 10x run")
    parser.add_argument("--scales", type=float, nargs="+", help="Scales to run instead of 1 and 10")
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return
    scales = args.scales or ([1.0, 10.0] if args.ten else [1.0])
    header = ["scale", "wall s", "peak MB", "enrollments", "transfers", "activity"]
    widths = [6, 8, 8, 12, 10, 10]
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, widths, strict=True)) + "  phases (s)")
    for scale in scales:
        r = run(scale)
        c = r["counts"]
        phases = ", ".join(f"{k} {v:.1f}" for k, v in r["phases"].items() if k != "total")
        print(
            f"{scale:>6g} {r['seconds']:>8.1f} {r['peak_mb']:>8.0f} {c['enrollments']:>12} "
            f"{c['transfers']:>10} {c['activity']:>10}  {phases}"
        )


if __name__ == "__main__":
    main()
