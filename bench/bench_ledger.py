"""Ledger throughput: purchases per second through the real services.

    .venv/bin/python bench/bench_ledger.py                    # SQLite (a temporary file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tokenecon_bench .venv/bin/python bench/bench_ledger.py

Creates its own database (a temporary SQLite file, or the named PostgreSQL database, which is
dropped and recreated), then times one-by-one ``purchase_course`` calls (each its own durable
transaction, as a web request makes them), the bulk path used by imports and the simulator, and
the release of all those purchases' teacher shares once their refund window is over.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django() -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokenecon.settings.base")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    if not os.environ.get("DATABASE_URL"):
        os.environ["SQLITE_PATH"] = str(Path(tempfile.mkdtemp()) / "bench.sqlite3")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor == "postgresql":
        from django.db import connections

        name = connection.settings_dict["NAME"]
        with connections["default"]._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return connection.vendor


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--purchases", type=int, default=2000)
    args = parser.parse_args()
    vendor = setup_django()

    from tokenecon.models import AccountKind, Course, EnrollmentStatus, TransferKind
    from tokenecon.services.accounts import top_up_wallet, wallet_of
    from tokenecon.services.enrollment import purchase_course, purchase_legs
    from tokenecon.services.ledger import TransferSpec, platform_account, post_transfers_bulk
    from tokenecon.services.people import register_learner, register_teacher

    n = args.purchases
    teacher = register_teacher(username="bench-teacher", password=None, external_id="T1", display_name="T")
    courses = [
        Course(
            code=f"C{i:05d}",
            title=f"Course {i}",
            teacher=teacher,
            category="programming",
            difficulty="beginner",
            duration_hours=5,
            launch_date=date(2026, 1, 1),
            price_tokens=50,
        )
        for i in range(n)
    ]
    Course.objects.bulk_create(courses)
    courses = list(Course.objects.order_by("code"))
    learner = register_learner(
        username="bench-learner", password=None, external_id="L1", joined_on=date(2026, 1, 1), country="DE"
    )
    top_up_wallet(learner=learner, amount_tokens=50 * n, idempotency_key="seed")

    started = time.perf_counter()
    for i, course in enumerate(courses):
        purchase_course(learner=learner, course=course, idempotency_key=f"buy-{i}")
    one_by_one = n / (time.perf_counter() - started)

    # The bulk path: the same legs, posted in batches of 1,000 (simulator and imports).
    second = register_learner(
        username="bench-bulk", password=None, external_id="L2", joined_on=date(2026, 1, 1), country="DE"
    )
    top_up_wallet(learner=second, amount_tokens=50 * n, idempotency_key="seed-2")
    wallet = wallet_of(second)
    # A purchase credits the teacher's pending earnings (released after the refund window).
    earnings = teacher.user.token_accounts.get(kind=AccountKind.TEACHER_PENDING)
    revenue = platform_account(AccountKind.PLATFORM_REVENUE)
    from tokenecon.models import Enrollment

    started = time.perf_counter()
    for start in range(0, n, 1000):
        batch = courses[start : start + 1000]
        enrollments = Enrollment.objects.bulk_create(
            Enrollment(
                learner=second,
                course=c,
                enrolled_at=learner.created_at,
                list_price_tokens=50,
                price_paid_tokens=50,
                status=EnrollmentStatus.ACTIVE,
            )
            for c in batch
        )
        post_transfers_bulk(
            [
                TransferSpec(
                    kind=TransferKind.PURCHASE,
                    idempotency_key=f"bulk-{e.pk}",
                    legs=purchase_legs(
                        wallet_id=wallet.pk, earnings_id=earnings.pk, revenue_id=revenue.pk, paid_tokens=50
                    ),
                    enrollment_id=e.pk,
                )
                for e in enrollments
            ]
        )
    bulk = n / (time.perf_counter() - started)

    # The daily release of every purchase above once its refund window is over (bulk, batches).
    from datetime import timedelta

    from django.utils import timezone

    from tokenecon.services.earnings import release_due

    started = time.perf_counter()
    released = release_due(now=timezone.now() + timedelta(days=15))
    release_rate = released / (time.perf_counter() - started)
    print(f"database: {vendor}")
    print(f"purchase_course one by one: {one_by_one:,.0f} purchases/s ({n} purchases)")
    print(f"bulk purchases (enrollments + post_transfers_bulk): {bulk:,.0f} purchases/s ({n} purchases)")
    print(f"release_due after the refund window: {release_rate:,.0f} enrollments/s ({released} released)")


if __name__ == "__main__":
    main()
