"""First and warm hits of the main pages, each first hit on a freshly started server.

    .venv/bin/python bench/bench_pages.py                       # builds a demo database (minutes)
    .venv/bin/python bench/bench_pages.py --demo-dir /tmp/demo  # reuses (or builds once) that folder
    .venv/bin/python bench/bench_pages.py --scale 0.3           # a smaller demo to try it out

The demo folder holds ``demo.sqlite3`` (``SQLITE_PATH``), the model artifacts and ``var/``; it
is built like ``make demo`` (seed_demo, train, recommend_prices, train propensity,
score_learners) the first time and reused afterwards. Nothing under the project's ``var/`` is
touched.

For each page: gunicorn (one worker, the project's gunicorn.conf.py, DEBUG off) is started, the
run waits until ``/health/live/`` answers (the process has started and loaded the app), then
times the page's first GET (signed in as its role through a session made beforehand: a
password login would measure the deliberately slow hasher), then ``--warm`` more GETs (median
and max). ``/health/`` is timed the same way. Goals: every first hit under 1 s, ``/health/``
under 100 ms. Results are also written as JSON (``--out``).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PORT = 8766
FIRST_PAGE_GOAL_S = 1.0
HEALTH_GOAL_S = 0.1
# seed_demo's logins.
DEMO_LOGINS = (("teacher", "teacher-pass-2026"), ("learner", "learner-pass-2026"))


def demo_env(folder: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(
        DJANGO_SETTINGS_MODULE="tokenecon.settings.base",
        DJANGO_DEBUG="1",
        SQLITE_PATH=str(folder / "demo.sqlite3"),
        TOKENECON_ARTIFACTS_DIR=str(folder / "artifacts"),
        TOKENECON_VAR_DIR=str(folder / "var"),
        CELERY_BROKER_DIR=str(folder / "broker"),
        # The server's and the session fixture's: a session's auth hash depends on it.
        DJANGO_SECRET_KEY="bench-pages-" + "x" * 40,
    )
    return env


def build_demo(folder: Path, env: dict, scale: float) -> None:
    if (folder / "demo.built").exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    manage = [sys.executable, "manage.py"]
    steps = [
        ["migrate", "--noinput", "-v0"],
        ["seed_demo", "--scale", str(scale)] if scale != 1.0 else ["seed_demo"],
        ["train", "--sync"],
        ["recommend_prices"],
        ["train", "--kind", "propensity", "--sync"],
        ["score_learners"],
    ]
    for step in steps:
        started = time.perf_counter()
        subprocess.run([*manage, *step], cwd=ROOT, env=env, check=True, capture_output=True)
        print(f"  demo: {' '.join(step)} {time.perf_counter() - started:.0f} s", flush=True)
    (folder / "demo.built").write_text("ok")


FIXTURE = r"""
import json, os, sys
import django
django.setup()
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from tokenecon.models import Course, Learner

def session_for(user):
    s = SessionStore()
    s[SESSION_KEY] = str(user.pk)
    s[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    s[HASH_SESSION_KEY] = user.get_session_auth_hash()
    s.create()
    return s.session_key

course = Course.objects.filter(status=Course.Status.PUBLISHED, teacher__user__username="teacher").first() \
    or Course.objects.filter(status=Course.Status.PUBLISHED).order_by("pk").first()
teacher = course.teacher.user
learner = (get_user_model().objects.filter(username="learner").first()
           or Learner.objects.order_by("pk").first().user)
staff = get_user_model().objects.filter(is_staff=True).order_by("pk").first()
if staff is None:  # a simulated world without seed_demo's admin (bench/run.py's)
    staff = get_user_model().objects.create_user(username="bench-pages-staff", is_staff=True)
import time
logins, hash_s = [], []
for name, password in json.loads(os.environ["BENCH_DEMO_LOGINS"]):
    u = get_user_model().objects.filter(username=name).first()
    started = time.perf_counter()
    if u and u.check_password(password):
        hash_s.append(time.perf_counter() - started)
        logins.append(name)
try:  # the first visit ever of the data-quality page: no stored result (where results are stored)
    from analytics.models import DataQualitySnapshot
    DataQualitySnapshot.objects.all().delete()
except ImportError:
    pass
print(json.dumps({
    "cookie": settings.SESSION_COOKIE_NAME,
    "staff": session_for(staff), "teacher": session_for(teacher), "learner": session_for(learner),
    "course": course.code,
    "logins": logins,
    "password_check_s": min(hash_s) if hash_s else None,
}))
"""


def fixture(env: dict) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", FIXTURE],
        cwd=ROOT,
        env={
            **env,
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "BENCH_DEMO_LOGINS": json.dumps(DEMO_LOGINS),
        },
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def pages(fx: dict) -> list[tuple[str, str, str | None]]:
    code = fx["course"]
    return [
        ("home (learner, redirected)", "/", "learner"),
        ("learner catalog", "/learner/courses/", "learner"),
        ("learner course page", f"/learner/courses/{code}/", "learner"),
        ("teacher home", "/teacher/", "teacher"),
        ("teacher course page", f"/teacher/courses/{code}/", "teacher"),
        ("staff dashboard", "/dashboard/", "staff"),
        ("data quality (first visit ever)", "/dashboard/data-quality/", "staff"),
        ("data quality (stored result)", "/dashboard/data-quality/", "staff"),
        ("/health/", "/health/", None),
    ]


def get(path: str, cookie: str | None) -> tuple[float, int]:
    """GET with redirects followed; a page that lands on the login form is an error here."""
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}")
    if cookie:
        request.add_header("Cookie", cookie)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            status = response.status
            if cookie and urllib.parse.urlparse(response.url).path == "/accounts/login/":
                raise RuntimeError(f"{path}: the session was not accepted (landed on the login page)")
    except urllib.error.HTTPError as exc:
        exc.read()
        status = exc.code
    return time.perf_counter() - started, status


def wait_for_port(timeout: float = 90) -> float:
    """Until the server's socket accepts: with gunicorn's preload the app is imported first, but
    nothing has been requested yet (no URLconf, no view module, no template loaded)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", PORT)) == 0:
                return time.perf_counter() - started
        time.sleep(0.05)
    raise RuntimeError(f"nothing answered on 127.0.0.1:{PORT} within {timeout} s")


def login(username: str, password: str) -> tuple[float, int, str]:
    """A real password login: GET the form (CSRF cookie and token), POST it, land on the page it
    redirects to. Timed: the POST and the landing page."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"http://127.0.0.1:{PORT}/accounts/login/", timeout=120) as response:
        form = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    body = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token}
    ).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}/accounts/login/", data=body)
    request.add_header("Referer", f"http://127.0.0.1:{PORT}/accounts/login/")
    started = time.perf_counter()
    with opener.open(request, timeout=120) as response:
        response.read()
        landed, status = response.url, response.status
    return time.perf_counter() - started, status, urllib.parse.urlparse(landed).path


def start_server(env: dict, folder: Path) -> subprocess.Popen:
    server_env = {
        **env,
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_BIND": f"127.0.0.1:{PORT}",
        "GUNICORN_TIMEOUT": "120",
        "GUNICORN_ACCESS_LOG": str(folder / "pages-access.log"),
        "GUNICORN_ERROR_LOG": str(folder / "pages-error.log"),
    }
    return subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "tokenecon.wsgi"],
        cwd=ROOT,
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _row(name: str, path: str, status: int, start_s: float, first_s: float, warm_s: list[float]) -> dict:
    print(f"  {name}: first {first_s * 1000:.0f} ms, status {status}", flush=True)
    return {
        "page": name,
        "path": path,
        "status": status,
        "start_s": round(start_s, 3),
        "first_s": round(first_s, 4),
        "warm_median_s": round(statistics.median(warm_s), 4) if warm_s else None,
        "warm_max_s": round(max(warm_s), 4) if warm_s else None,
    }


def start_worker(env: dict, folder: Path) -> subprocess.Popen:
    """A Celery worker (so /health/ can be ok), once it says it is ready."""
    log = folder / "pages-worker.log"
    handle = log.open("w")
    worker = subprocess.Popen(
        [str(BIN / "celery"), "-A", "tokenecon", "worker", "--pool=solo", "--loglevel=INFO"]
        + ["-n", "bench-pages@localhost", "--without-gossip", "--without-mingle"],
        cwd=ROOT,
        env={**env, "DJANGO_DEBUG": "0", "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost"},
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 90
    while " ready." not in log.read_text():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the Celery worker did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)
    time.sleep(1)
    return worker


def measure(env: dict, folder: Path, *, warm: int) -> dict:
    """Every page on ``env``'s database (bench/run.py calls this on its 1x world)."""
    env = {**env, "DJANGO_SECRET_KEY": env.get("DJANGO_SECRET_KEY") or "bench-pages-" + "x" * 40}
    fx = fixture(env)
    rows = []
    for name, path, role in pages(fx):
        cookie = f"{fx['cookie']}={fx[role]}" if role else None
        worker = start_worker(env, folder) if path == "/health/" else None
        server = start_server(env, folder)
        try:
            start_s = wait_for_port()
            first_s, status = get(path, cookie)
            warm_s = [get(path, cookie)[0] for _ in range(warm)]
        finally:
            stop_server(server)
            if worker is not None:
                stop_server(worker)
        rows.append(_row(name, path, status, start_s, first_s, warm_s))
    for username, password in (pair for pair in DEMO_LOGINS if pair[0] in fx["logins"]):
        server = start_server(env, folder)
        try:
            start_s = wait_for_port()
            first_s, status, landed = login(username, password)
        finally:
            stop_server(server)
        rows.append(_row(f"first login ({username})", landed, status, start_s, first_s, []))
    return {
        "pages": rows,
        "warm_hits": warm,
        "password_check_s": fx["password_check_s"],
        "load_average": os.getloadavg(),
    }


def _ms(value: float | None) -> str:
    return f"{value * 1000:.0f}" if value is not None else "-"


def print_table(result: dict) -> None:
    heads = f"{'status':>7}{'start s':>9}{'first ms':>10}{'warm p50 ms':>13}{'warm max ms':>13}"
    print(f"\n{'page':<34}{heads}  goal")
    for r in result["pages"]:
        goal_s = HEALTH_GOAL_S if r["path"] == "/health/" else FIRST_PAGE_GOAL_S
        worst = max(r["first_s"], r["warm_max_s"]) if r["path"] == "/health/" else r["first_s"]
        verdict = f"{'ok' if worst < goal_s else 'MISSED'} (< {goal_s * 1000:.0f} ms)"
        print(
            f"{r['page']:<34}{r['status']:>7}{r['start_s']:>9.1f}{_ms(r['first_s']):>10}"
            f"{_ms(r['warm_median_s']):>13}{_ms(r['warm_max_s']):>13}  {verdict}"
        )
    print(
        "start s: from starting gunicorn (preloading the app) until its socket accepts; first: the "
        "page's first GET on that fresh server (signed in by a session made beforehand); warm: the "
        "next GETs; first login: a password login's POST and the page it lands on, on a fresh server. "
        "/health/'s goal holds for every hit."
    )
    if result.get("password_check_s"):
        print(
            f"A first login includes one password check: {result['password_check_s'] * 1000:.0f} ms here "
            "(Django's default PBKDF2 hasher, 1,000,000 iterations: deliberately slow)."
        )


def run(*, demo_dir: Path | None, scale: float, warm: int) -> dict:
    temporary = demo_dir is None
    folder = Path(tempfile.mkdtemp(prefix="bench-pages-")) if temporary else demo_dir
    env = demo_env(folder)
    build_demo(folder, env, scale)
    return measure(env, folder, warm=warm)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--demo-dir", type=Path, help="a demo folder to reuse (built there if missing)")
    parser.add_argument("--scale", type=float, default=1.0, help="seed_demo's scale when building")
    parser.add_argument("--warm", type=int, default=5, help="warm GETs per page after the first")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "pages.json")
    args = parser.parse_args()
    result = run(demo_dir=args.demo_dir, scale=args.scale, warm=args.warm)
    args.out.write_text(json.dumps(result, indent=2))
    print_table(result)
    print(f"\nwritten {args.out}")


if __name__ == "__main__":
    main()
