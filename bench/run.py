"""`make bench`: the whole benchmark in one command, a table on stdout and bench/results.json.

    .venv/bin/python bench/run.py                 # the full run (aims at under 10 minutes)
    .venv/bin/python bench/run.py --quick         # small scales and short loads, to try it out

Parts, each in its own process (so peak memory is that part's ``ru_maxrss``) and its own
temporary SQLite database unless said otherwise:

1. machine facts: cores, CPU model, memory, Python, numpy and PostgreSQL versions;
2. the simulator at 1x and 10x (wall time, peak memory). When the 1x time says 10x cannot fit in
   the budget, a smaller multiple (5x or 2x) is measured instead and the table says so;
3. the demand and propensity pipelines on each of those databases, and whole-catalog price
   recommendations on the 1x one;
4. ledger purchases per second through ``purchase_course`` with 8 threads (each its own
   connection) on PostgreSQL at 127.0.0.1:5432 in a scratch database, and pgbench's TPC-B-like
   rate with 8 clients on the same server in another scratch database, as a ratio;
5. API latency (p50, p95, p99, max) and throughput under locust (headless, another process) at 50
   users with one second of think time against gunicorn with 2 workers on the 1x database, beside
   the same server's throughput on ``/health/live/`` with no think time (the ceiling);
6. the main pages' first hit on a freshly started server and their warm hits, and ``/health/``
   (bench/bench_pages.py) on the 1x database (``--no-pages`` skips it).

Every load is bounded in time and count and only aimed at 127.0.0.1.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}
PG_URL = "postgres://postgres:postgres@127.0.0.1:5432/{name}"
LEDGER_DB = "tokenecon_bench_ledger"
PGBENCH_DB = "tokenecon_bench_pgbench"
PORT = 8765


# --- children: one part each, printing one JSON line ----------------------------------------------


def _django(settings: str = "tokenecon.settings.base") -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings)
    os.environ.setdefault("DJANGO_DEBUG", "1")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_simulate(scale: float) -> dict:
    _django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tokenecon.simulator.config import SimulationConfig
    from tokenecon.simulator.service import run_simulation

    started = time.perf_counter()
    result = run_simulation(config=SimulationConfig().scaled(scale))
    return {"seconds": time.perf_counter() - started, "peak_mb": _peak_mb(), "counts": result.counts}


def child_pipeline(kind: str) -> dict:
    _django()
    from analytics.services.pipeline import start_pipeline_run

    started = time.perf_counter()
    run = start_pipeline_run(kind=kind, sync=True, force=True)
    seconds = time.perf_counter() - started
    if run.status != "succeeded":
        raise SystemExit(f"{kind} pipeline failed: {run.error}")
    return {
        "seconds": seconds,
        "peak_mb": _peak_mb(),
        "stages": {s["name"]: s["seconds"] for s in run.stages},
    }


def child_recommend() -> dict:
    _django()
    from pricing.services.advice import run_advice_recompute

    started = time.perf_counter()
    run = run_advice_recompute()
    return {
        "seconds": time.perf_counter() - started,
        "peak_mb": _peak_mb(),
        "courses": run.recommendations_stored,
    }


def child_score() -> dict:
    _django()
    from learners.services.scoring import score_all_learners

    started = time.perf_counter()
    result = score_all_learners()
    return {"seconds": time.perf_counter() - started, "peak_mb": _peak_mb(), "learners": result["scored"]}


def child_api_fixture(path: str) -> dict:
    """Users for the load: a teacher owning courses, a learner with a password and tokens."""
    _django()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    from tokenecon.models import Course, Learner

    course = Course.objects.filter(status=Course.Status.PUBLISHED).order_by("pk").first()
    teacher = course.teacher
    codes = list(Course.objects.filter(teacher=teacher).values_list("code", flat=True)[:20])
    learner = Learner.objects.filter(score__isnull=False).order_by("pk").first() or Learner.objects.first()
    # A signed-in session made here: 50 password logins (deliberately slow hashing) would
    # measure the hasher, not the pages.
    session = SessionStore()
    session[SESSION_KEY] = str(learner.user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = learner.user.get_session_auth_hash()
    session.create()
    fixture = {
        "teacher_token": Token.objects.get_or_create(user=teacher.user)[0].key,
        "learner_token": Token.objects.get_or_create(user=learner.user)[0].key,
        "learner_session": session.session_key,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "learner_id": learner.pk,
        "course_codes": codes,
    }
    Path(path).write_text(json.dumps(fixture))
    return {"teacher": teacher.pk, "learner": learner.pk, "courses": len(codes)}


def child_ledger(seconds: float, clients: int, max_purchases: int) -> dict:
    """Purchases per second with ``clients`` threads on a scratch PostgreSQL database."""
    os.environ["DATABASE_URL"] = PG_URL.format(name=LEDGER_DB)
    _django()
    from datetime import date

    from django.core.management import call_command
    from django.db import connection, connections
    from django.test.utils import CaptureQueriesContext

    with connections["default"]._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{LEDGER_DB}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{LEDGER_DB}"')
    connection.close()
    call_command("migrate", verbosity=0)
    from tokenecon.models import Course
    from tokenecon.services.accounts import top_up_wallet
    from tokenecon.services.enrollment import purchase_course
    from tokenecon.services.people import register_learner, register_teacher

    per_client = max_purchases // clients + 1
    teachers = [
        register_teacher(username=f"bench-t{i}", password=None, external_id=f"T{i}", display_name=f"T{i}")
        for i in range(20)
    ]
    Course.objects.bulk_create(
        Course(
            code=f"C{i:05d}",
            title=f"Course {i}",
            teacher=teachers[i % len(teachers)],
            category="programming",
            difficulty="beginner",
            duration_hours=5,
            launch_date=date(2026, 1, 1),
            price_tokens=50,
        )
        for i in range(per_client + 1)
    )
    courses = list(Course.objects.select_related("teacher").order_by("code"))
    learners = []
    for i in range(clients + 1):
        learner = register_learner(
            username=f"bench-l{i}",
            password=None,
            external_id=f"L{i}",
            joined_on=date(2026, 1, 1),
            country="DE",
        )
        top_up_wallet(learner=learner, amount_tokens=50 * len(courses), idempotency_key=f"seed-{i}")
        learners.append(learner)
    # The counted purchase's accounts exist (a teacher's pending account is made by their first
    # sale): the warm-up buys another course of the same teacher.
    warm = next(c for c in courses[:-1] if c.teacher_id == courses[-1].teacher_id)
    purchase_course(learner=learners[-1], course=warm, idempotency_key="warm")
    with CaptureQueriesContext(connection) as queries:
        purchase_course(learner=learners[-1], course=courses[-1], idempotency_key="count")
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]
    connection.close()

    counts = [0] * clients
    errors: list[str] = []
    barrier = threading.Barrier(clients + 1)
    deadline_box: list[float] = []

    def client(index: int) -> None:
        learner = learners[index]
        try:
            barrier.wait()
            deadline = deadline_box[0]
            for n, course in enumerate(courses[:per_client]):
                if time.perf_counter() >= deadline:
                    break
                purchase_course(learner=learner, course=course, idempotency_key=f"b{index}-{n}")
                counts[index] += 1
        except Exception as exc:  # noqa: BLE001 - reported in the results
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    deadline_box.append(time.perf_counter() + seconds)
    started = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - started
    from tests.ledger_checks import assert_ledger_consistent

    assert_ledger_consistent()
    connection.close()
    with connections["default"]._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{LEDGER_DB}" WITH (FORCE)')
    return {
        "purchases": sum(counts),
        "seconds": elapsed,
        "per_second": sum(counts) / elapsed,
        "clients": clients,
        "queries_per_purchase": len(statements),  # without BEGIN and COMMIT
        "errors": errors[:5],
    }


CHILDREN = {
    "simulate": lambda a: child_simulate(float(a[0])),
    "pipeline": lambda a: child_pipeline(a[0]),
    "recommend": lambda a: child_recommend(),
    "score": lambda a: child_score(),
    "api-fixture": lambda a: child_api_fixture(a[0]),
    "ledger": lambda a: child_ledger(float(a[0]), int(a[1]), int(a[2])),
}


# --- the parent: runs the children, pgbench, gunicorn and locust ----------------------------------


def run_child(name: str, *args: str, env: dict | None = None, timeout: float = 900) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, *args],
        cwd=ROOT,
        env=env or os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{name} {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def db_env(folder: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(
        DJANGO_SETTINGS_MODULE="tokenecon.settings.base",
        DJANGO_DEBUG="1",
        SQLITE_PATH=str(folder / "bench.sqlite3"),
        TOKENECON_ARTIFACTS_DIR=str(folder / "artifacts"),
        TOKENECON_VAR_DIR=str(folder / "var"),
    )
    return env


def machine_facts() -> dict:
    import numpy

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    server = psql("SHOW server_version", db="postgres") or "not answering"
    return {
        "cores": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "database_vendor": "postgresql " + server.split()[0] if server != "not answering" else server,
        "api_database": "sqlite (the 1x simulated database)",
        "load_average_at_start": os.getloadavg(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def psql(sql: str, *, db: str) -> str | None:
    out = subprocess.run(
        ["psql", "-h", PG["host"], "-p", PG["port"], "-U", PG["user"], "-d", db, "-Atc", sql],
        capture_output=True,
        text=True,
        env={**os.environ, "PGPASSWORD": "postgres"},
    )
    return out.stdout.strip() if out.returncode == 0 else None


def pgbench(seconds: int, clients: int) -> dict:
    if shutil.which("pgbench") is None:
        raise RuntimeError("pgbench is missing: apt-get install -y postgresql-contrib (or postgresql-client)")
    env = {**os.environ, "PGPASSWORD": "postgres"}
    conn = ["-h", PG["host"], "-p", PG["port"], "-U", PG["user"]]
    psql(f'DROP DATABASE IF EXISTS "{PGBENCH_DB}" WITH (FORCE)', db="postgres")
    psql(f'CREATE DATABASE "{PGBENCH_DB}"', db="postgres")
    try:
        subprocess.run(["pgbench", *conn, "-i", "-q", PGBENCH_DB], env=env, check=True, capture_output=True)
        out = subprocess.run(
            ["pgbench", *conn, "-c", str(clients), "-j", "2", "-T", str(seconds), PGBENCH_DB],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        ).stdout
    finally:
        psql(f'DROP DATABASE IF EXISTS "{PGBENCH_DB}" WITH (FORCE)', db="postgres")
    tps = float(re.search(r"tps = ([0-9.]+)", out).group(1))
    latency = re.search(r"latency average = ([0-9.]+) ms", out)
    return {
        "tps": tps,
        "clients": clients,
        "seconds": seconds,
        "latency_ms": float(latency.group(1)) if latency else None,
    }


def wait_for_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise RuntimeError(f"nothing answered on 127.0.0.1:{port} within {timeout}s")


def _number(row: dict, key: str) -> float:
    return float(row[key]) if row[key] not in ("", "N/A") else float("nan")


def locust(*, fixture: Path, users: int, seconds: int, ceiling: bool, folder: Path) -> dict:
    prefix = folder / ("ceiling" if ceiling else "api")
    env = {**os.environ, "BENCH_FIXTURE": str(fixture)}
    subprocess.run(
        [
            str(BIN / "locust"),
            "-f",
            str(ROOT / "bench" / "locustfile.py"),
            "--headless",
            "--host",
            f"http://127.0.0.1:{PORT}",
            "-u",
            str(users),
            "-r",
            str(max(1, users // 2)),
            "-t",
            f"{seconds}s",
            "--stop-timeout",
            "5",
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
            "CeilingUser" if ceiling else "AppUser",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    rows = {}
    with open(f"{prefix}_stats.csv") as handle:
        for row in csv.DictReader(handle):
            rows[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": _number(row, "Requests/s"),
                "p50_ms": _number(row, "50%"),
                "p95_ms": _number(row, "95%"),
                "p99_ms": _number(row, "99%"),
                "max_ms": _number(row, "Max Response Time"),
            }
    return rows


def api_load(folder: Path, env: dict, *, users: int, seconds: int, ceiling_seconds: int) -> dict:
    fixture = folder / "fixture.json"
    run_child("api-fixture", str(fixture), env=env)
    server_env = {
        **env,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-" + os.urandom(24).hex(),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "API_THROTTLE_USER": "1000000/min",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_BIND": f"127.0.0.1:{PORT}",
        "GUNICORN_ACCESS_LOG": str(folder / "access.log"),
        "GUNICORN_ERROR_LOG": str(folder / "error.log"),
    }
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "tokenecon.wsgi"],
        cwd=ROOT,
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(PORT)
        # Warm each worker's model caches so the first requests do not measure loading artifacts.
        locust(fixture=fixture, users=4, seconds=5, ceiling=False, folder=folder)
        endpoints = locust(fixture=fixture, users=users, seconds=seconds, ceiling=False, folder=folder)
        ceiling = locust(fixture=fixture, users=users, seconds=ceiling_seconds, ceiling=True, folder=folder)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    return {
        "users": users,
        "think_time_s": 1,
        "seconds": seconds,
        "gunicorn_workers": 2,
        "all": endpoints.pop("Aggregated", {}),
        "endpoints": endpoints,
        "ceiling": ceiling.get("health-live", {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="small scales and short loads")
    parser.add_argument("--budget", type=float, default=570, help="seconds the whole run aims to stay under")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    parser.add_argument("--multiple", type=int, help="the larger scale to measure (default: what fits)")
    parser.add_argument(
        "--no-pages", action="store_true", help="skip the first/warm page hits (bench/bench_pages.py)"
    )
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child[0]](args.child[1:])))
        return

    started = time.monotonic()
    base_scale = 0.15 if args.quick else 1.0
    load_s, ceiling_s, ledger_s, pgbench_s = (8, 5, 3, 3) if args.quick else (40, 15, 10, 10)
    results: dict = {"machine": machine_facts(), "notes": []}
    print(f"machine: {json.dumps(results['machine'])}", flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="tokenecon-bench-"))
    try:
        results["ledger"] = run_child("ledger", str(ledger_s), "8", "50000")
        results["pgbench"] = pgbench(pgbench_s, 8)
        results["ledger"]["ratio_to_pgbench"] = results["ledger"]["per_second"] / results["pgbench"]["tps"]
        print(f"ledger: {results['ledger']}  pgbench: {results['pgbench']}", flush=True)

        worlds = {}
        one = scratch / "x1"
        one.mkdir()
        env = db_env(one)
        world = {"simulate": run_child("simulate", str(base_scale), env=env)}
        for kind in ("demand", "propensity"):
            world[kind] = run_child("pipeline", kind, env=env)
        world["recommendations"] = run_child("recommend", env=env)
        world["scoring"] = run_child("score", env=env)
        worlds["1x"] = world
        print(f"1x: {json.dumps(world)}", flush=True)
        results["api"] = api_load(one, env, users=50, seconds=load_s, ceiling_seconds=ceiling_s)
        print("api: done", flush=True)
        if not args.no_pages:
            import bench_pages

            results["pages"] = bench_pages.measure(env, one, warm=3)
            print("pages: done", flush=True)

        # The largest multiple (10, else 5, else 2) whose estimated time fits what is left,
        # estimating from 1x times the multiple (the goal is at most linear); else the simulator
        # alone at 2x if that fits. --multiple N measures N x whatever the budget says.
        one_x = world["simulate"]["seconds"] + world["demand"]["seconds"] + world["propensity"]["seconds"]
        left = args.budget - (time.monotonic() - started) - 20
        multiples = (2,) if args.quick else (10, 5, 2)
        multiple = args.multiple or next((m for m in multiples if one_x * m * 1.3 < left), None)
        parts = ("simulate", "demand", "propensity")
        if multiple is None and world["simulate"]["seconds"] * 2 * 1.3 < left:
            multiple, parts = 2, ("simulate",)
        if multiple != 10:
            results["notes"].append(
                f"10x not measured: 1x took {one_x:.0f} s (simulator + pipelines), so 10x would need about "
                f"{one_x * 10:.0f} s and {left:.0f} s of the {args.budget:.0f} s budget were left; "
                + (f"measured {multiple}x instead" if multiple else "no larger scale measured")
                + ("" if len(parts) == 3 else " (the simulator only)")
                + "."
            )
        if multiple:
            big = scratch / f"x{multiple}"
            big.mkdir()
            env_big = db_env(big)
            world = {"simulate": run_child("simulate", str(base_scale * multiple), env=env_big)}
            for kind in parts[1:]:
                world[kind] = run_child("pipeline", kind, env=env_big)
            worlds[f"{multiple}x"] = world
        results["scales"] = worlds
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results["total_seconds"] = time.monotonic() - started
    Path(args.out).write_text(json.dumps(results, indent=2))
    print_table(results, quick=args.quick)
    print(f"\nwritten {args.out} in {results['total_seconds']:.0f} s")


def _load_row(name: str, r: dict) -> str:
    return (
        f"{name:<24}{r['requests']:>7}{r['failures']:>6}{r['rps']:>8.1f}{r['p50_ms']:>8.0f}"
        f"{r['p95_ms']:>8.0f}{r['p99_ms']:>8.0f}{r['max_ms']:>8.0f}"
    )


def print_table(results: dict, *, quick: bool) -> None:
    m = results["machine"]
    print(
        f"\nmachine: {m['cores']} cores, {m['cpu_model']}, {m['memory_gb']} GB, Python {m['python']}, "
        f"numpy {m['numpy']}, {m['database_vendor']}; load average at start {m['load_average_at_start']}"
    )
    if quick:
        print("QUICK RUN: small scales and short loads; the figures only show that every part works.")
    scales = results["scales"]
    names = list(scales)
    print(f"\n{'part':<34}" + "".join(f"{n + ' s':>10}{n + ' MB':>10}" for n in names) + f"{'ratio':>8}")
    labels = {"simulate": "simulator", "demand": "demand pipeline", "propensity": "propensity pipeline"}
    for part, label in labels.items():
        cells = "".join(
            f"{scales[n][part]['seconds']:>10.1f}{scales[n][part]['peak_mb']:>10.0f}"
            if part in scales[n]
            else f"{'-':>10}{'-':>10}"
            for n in names
        )
        ratio = ""
        if len(names) > 1 and part in scales[names[1]]:
            ratio = f"{scales[names[1]][part]['seconds'] / scales[names[0]][part]['seconds']:>8.1f}"
        print(f"{label:<34}{cells}{ratio}")
    if len(names) > 1:
        print(f"  ratio = {names[1]} time / {names[0]} time (goal: at most the multiple)")
    first = scales[names[0]]
    for label, r, what in (
        (
            "whole-catalog recommendations",
            first["recommendations"],
            f"{first['recommendations']['courses']} courses",
        ),
        ("score every learner (one process)", first["scoring"], f"{first['scoring']['learners']} learners"),
    ):
        print(f"{label:<34}{r['seconds']:>10.1f}{r['peak_mb']:>10.0f}  ({what})")
    for note in results["notes"]:
        print(f"NOTE: {note}")
    ledger, pg = results["ledger"], results["pgbench"]
    print(
        f"\nledger purchases/s, {ledger['clients']} threads on PostgreSQL: {ledger['per_second']:,.0f} "
        f"({ledger['purchases']} in {ledger['seconds']:.1f} s, "
        f"{ledger['queries_per_purchase']} statements each besides BEGIN and COMMIT)"
    )
    print(f"pgbench TPC-B-like, {pg['clients']} clients, same server: {pg['tps']:,.0f} tps")
    print(f"ratio purchases/s / pgbench tps: {ledger['ratio_to_pgbench']:.2f}  (goal: at least 0.25)")
    if ledger["errors"]:
        print(f"ledger errors: {ledger['errors']}")
    api = results["api"]
    print(
        f"\nAPI under locust: {api['users']} users, {api['think_time_s']} s think time, {api['seconds']} s, "
        f"gunicorn {api['gunicorn_workers']} workers"
    )
    heads = ("reqs", "fail", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms")
    print(f"{'endpoint':<24}{heads[0]:>7}{heads[1]:>6}" + "".join(f"{h:>8}" for h in heads[2:]))
    for name, r in api["endpoints"].items():
        print(_load_row(name, r))
    if api["all"]:
        print(_load_row("all six", api["all"]))
    c = api["ceiling"]
    if c:
        print(_load_row("ceiling /health/live/", c) + "  (no think time)")
        print(
            f"app throughput / ceiling: {api['all'].get('rps', 0.0) / c['rps']:.2f}; "
            "goal: p99 under 150 ms for every endpoint"
        )
    if results.get("pages"):
        import bench_pages

        print("\nPages: each first hit on a freshly started gunicorn (one worker), then warm hits")
        bench_pages.print_table(results["pages"])


if __name__ == "__main__":
    main()
