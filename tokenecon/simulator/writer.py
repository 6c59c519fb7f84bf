"""Turning the engine's events into database rows, through the ledger's services.

People, accounts (a wallet per learner; pending, available and payout-hold accounts per
teacher), courses, price history and launch coupons are written once, in bulk (users get
unusable passwords: hashing thousands of real ones would dominate the run). Each chunk of days
is then written in its own transaction: top-ups, then purchases (``purchase_courses_bulk``,
crediting the teachers' pending earnings, some with a coupon), refunds (from pending, inside the
window), releases (pending -> available at the end of each window, keys ``release:<enrollment
id>``, ``released_at`` set), payouts (``PayoutRequest`` rows, paid: a hold transfer available ->
hold and a payout hold -> treasury, keys ``payout:<request id>:hold|paid``), enrollment outcomes
and activity rows. Ledger order within a chunk is safe because the engine spends refunded tokens
only in a later chunk and pays out only what was released before the payout (see engine.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from tokenecon.models import (
    Account,
    AccountKind,
    Coupon,
    CouponFunder,
    CouponKind,
    CouponScope,
    Course,
    Learner,
    LearnerActivity,
    PayoutRequest,
    PayoutStatus,
    PriceChange,
    Teacher,
    Transfer,
    TransferKind,
)
from tokenecon.services.bulk import (
    BATCH as BULK_BATCH,
)
from tokenecon.services.bulk import (
    BulkPurchase,
    EnrollmentOutcome,
    purchase_courses_bulk,
    update_enrollment_outcomes_bulk,
)
from tokenecon.services.earnings import mark_released, release_spec
from tokenecon.services.ledger import TransferSpec, platform_account, post_transfers_bulk
from tokenecon.services.rates import tokens_to_money
from tokenecon.simulator.config import CATEGORIES, DIFFICULTIES, SimulationConfig
from tokenecon.simulator.coupons import CouponPlan, plan_coupons
from tokenecon.simulator.engine import ACTIVE, COMPLETED, DROPPED, REFUNDED, Chunk
from tokenecon.simulator.world import PRICE_SOURCES, World

ROWS_PER_BATCH = 2000
STATUS = {ACTIVE: "active", COMPLETED: "completed", DROPPED: "dropped", REFUNDED: "refunded"}

FIRST_NAMES = np.array(
    "Ana Ben Chloe Dev Elena Femi Gita Hugo Ines Jun Kofi Lena Mateo Nadia Omar Priya Quinn Rosa Sami "
    "Tara Umar Vera Wen Xavi Yara Zoe Aiko Bruno Carla Dario Emeka Farah Goran Hana Ivan Julia Karim "
    "Lucia Milan Nora".split()
)
LAST_NAMES = np.array(
    "Silva Kim Okafor Novak Rossi Sato Haddad Mueller Garcia Patel Nguyen Cohen Dubois Kowalski Mensah "
    "Larsen Costa Ito Moreau Singh Brown Ahmed Fischer Lopez Petrov Santos Yilmaz Tanaka Walsh Berg".split()
)
TOPICS = {
    "programming": [
        "Python",
        "JavaScript",
        "Rust",
        "Go",
        "SQL",
        "Web APIs",
        "Algorithms",
        "TypeScript",
        "Django",
    ],
    "data_science": [
        "Machine Learning",
        "Statistics",
        "Pandas",
        "Deep Learning",
        "Data Visualisation",
        "A/B Testing",
    ],
    "business": [
        "Accounting",
        "Negotiation",
        "Project Management",
        "Startup Finance",
        "Leadership",
        "Strategy",
    ],
    "design": ["UX Research", "Figma", "Typography", "Illustration", "Interaction Design", "Brand Identity"],
    "marketing": ["SEO", "Content Marketing", "Email Campaigns", "Growth Analytics", "Social Media Ads"],
    "languages": ["Spanish", "Japanese", "German", "French", "Mandarin", "Business English", "Portuguese"],
    "personal_development": ["Productivity", "Public Speaking", "Mindfulness", "Writing", "Time Management"],
    "music": ["Guitar", "Piano", "Music Theory", "Home Recording", "Songwriting", "Jazz Harmony"],
    "health": ["Yoga", "Nutrition", "Strength Training", "Running", "Sleep Science", "Mobility"],
    "test_prep": ["GMAT", "IELTS", "GRE", "TOEFL", "SAT Math", "AWS Certification", "PMP"],
}
TITLE_FORMS = [
    "Introduction to {}",
    "{} in Practice",
    "Mastering {}",
    "{} for Beginners",
    "Advanced {}",
    "{} Bootcamp",
    "Hands-on {}",
    "{}: the Complete Guide",
]


def with_article(phrase: str) -> str:
    """``"advanced course ..."`` -> ``"An advanced course ..."``."""
    return ("An " if phrase[:1].lower() in "aeiou" else "A ") + phrase


def _at(start: date, seconds: np.ndarray) -> list[datetime]:
    base = datetime.combine(start, time(0), tzinfo=UTC)
    return [base + timedelta(seconds=int(s)) for s in seconds]


class DatabaseWriter:
    def __init__(self, cfg: SimulationConfig, world: World, rng: np.random.Generator) -> None:
        self.cfg, self.world, self.rng = cfg, world, rng
        self.start = cfg.start_date
        self.prefix = f"sim{cfg.seed}"
        n_l, n_c = len(world.learner_join_day), len(world.course_category)
        self.learner_codes = np.array([f"L{i + 1:07d}" for i in range(n_l)])
        self.course_codes = np.array([f"C{i + 1:06d}" for i in range(n_c)])
        self.teacher_codes = np.array([f"T{i + 1:05d}" for i in range(len(world.teacher_z))])
        self.enrollment_ids = np.zeros(max(1024, cfg.enrollments * 2), dtype=np.int64)
        self.purchase_transfer_ids = np.zeros_like(self.enrollment_ids)
        self.purchase_course = np.zeros_like(self.enrollment_ids)
        self.counts = {
            "enrollments": 0,
            "transfers": 0,
            "activity": 0,
            "price_changes": 0,
            "coupons": 0,
            "coupon_redemptions": 0,
            "releases": 0,
            "payouts": 0,
        }

    def _date(self, day: int) -> date:
        return self.start + timedelta(days=int(day))

    # ---------------------------------------------------------------------------------------------
    def write_people_and_catalog(self) -> None:
        w, rng = self.world, self.rng
        User = get_user_model()
        n_t, n_l = len(w.teacher_z), len(w.learner_join_day)
        # "!" marks an unusable password (Django's UNUSABLE_PASSWORD_PREFIX): nobody can log in
        # as a simulated person until seed_demo gives one a real password.
        suffixes = rng.integers(0, 2**62, size=n_t + n_l)
        first = FIRST_NAMES[rng.integers(0, len(FIRST_NAMES), size=n_t + n_l)]
        last = LAST_NAMES[rng.integers(0, len(LAST_NAMES), size=n_t + n_l)]
        teacher_joined = [self._date(d) for d in w.teacher_joined_day]
        learner_joined = [self._date(d) for d in w.learner_join_day]
        users = []
        for i in range(n_t):
            users.append(
                User(
                    username=f"{self.prefix}-{self.teacher_codes[i].lower()}",
                    email=f"{self.teacher_codes[i].lower()}@teachers.example.com",
                    first_name=first[i],
                    last_name=last[i],
                    password=f"!sim{suffixes[i]:x}",
                    date_joined=datetime.combine(teacher_joined[i], time(9), tzinfo=UTC),
                )
            )
        for i in range(n_l):
            users.append(
                User(
                    username=f"{self.prefix}-{self.learner_codes[i].lower()}",
                    email=f"{self.learner_codes[i].lower()}@learners.example.com",
                    first_name=first[n_t + i],
                    last_name=last[n_t + i],
                    password=f"!sim{suffixes[n_t + i]:x}",
                    date_joined=datetime.combine(learner_joined[i], time(9), tzinfo=UTC),
                )
            )
        users = User.objects.bulk_create(users, batch_size=ROWS_PER_BATCH)
        teacher_users, learner_users = users[:n_t], users[n_t:]
        teachers = Teacher.objects.bulk_create(
            [
                Teacher(
                    user_id=u.pk,
                    external_id=self.teacher_codes[i],
                    display_name=f"{first[i]} {last[i]}",
                    quality_score=int(w.teacher_quality_score[i]),
                    years_experience=int(w.teacher_years[i]),
                    joined_on=teacher_joined[i],
                )
                for i, u in enumerate(teacher_users)
            ],
            batch_size=ROWS_PER_BATCH,
        )
        learners = Learner.objects.bulk_create(
            [
                Learner(
                    user_id=u.pk,
                    external_id=self.learner_codes[i],
                    joined_on=learner_joined[i],
                    country=str(w.learner_country[i]),
                    age_group=str(w.learner_age_group[i]),
                    education=str(w.learner_education[i]),
                    acquisition_channel=str(w.learner_channel[i]),
                )
                for i, u in enumerate(learner_users)
            ],
            batch_size=ROWS_PER_BATCH,
        )

        def teacher_accounts(kind: str) -> list[Account]:
            return Account.objects.bulk_create(
                [Account(kind=kind, owner_id=u.pk) for u in teacher_users], batch_size=ROWS_PER_BATCH
            )

        pending = teacher_accounts(AccountKind.TEACHER_PENDING)
        earnings = teacher_accounts(AccountKind.TEACHER_EARNINGS)
        holds = teacher_accounts(AccountKind.TEACHER_PAYOUT_HOLD)
        wallets = Account.objects.bulk_create(
            [Account(kind=AccountKind.LEARNER_WALLET, owner_id=u.pk) for u in learner_users],
            batch_size=ROWS_PER_BATCH,
        )
        self.teacher_ids = np.array([t.pk for t in teachers], dtype=np.int64)
        self.learner_ids = np.array([x.pk for x in learners], dtype=np.int64)
        self.teacher_user_ids = np.array([u.pk for u in teacher_users], dtype=np.int64)
        self.pending_ids = np.array([a.pk for a in pending], dtype=np.int64)
        self.earnings_ids = np.array([a.pk for a in earnings], dtype=np.int64)
        self.hold_ids = np.array([a.pk for a in holds], dtype=np.int64)
        self.wallet_ids = np.array([a.pk for a in wallets], dtype=np.int64)
        self.treasury_id = platform_account(AccountKind.PLATFORM_TREASURY).pk
        platform_account(AccountKind.PLATFORM_REVENUE)

        titles = []
        for j in range(len(w.course_category)):
            topics = TOPICS[CATEGORIES[w.course_category[j]]]
            titles.append(
                TITLE_FORMS[rng.integers(0, len(TITLE_FORMS))].format(topics[rng.integers(0, len(topics))])
            )
        courses = Course.objects.bulk_create(
            [
                Course(
                    code=self.course_codes[j],
                    title=titles[j],
                    description=with_article(
                        f"{DIFFICULTIES[w.course_difficulty[j]]} course in {titles[j].lower()}."
                    ),
                    teacher_id=int(self.teacher_ids[w.course_teacher[j]]),
                    category=CATEGORIES[w.course_category[j]],
                    difficulty=DIFFICULTIES[w.course_difficulty[j]],
                    duration_hours=f"{w.course_duration_hours[j]:.1f}",
                    certificate_offered=bool(w.course_certificate[j]),
                    launch_date=self._date(w.course_launch_day[j]),
                    price_tokens=int(w.course_final_price[j]),
                )
                for j in range(len(w.course_category))
            ],
            batch_size=ROWS_PER_BATCH,
        )
        self.course_ids = np.array([c.pk for c in courses], dtype=np.int64)
        notes = {
            0: "Launch price",
            1: "Teacher changed the price",
            2: "Promotion",
            3: "Random price test",
        }
        for start in range(0, len(w.change_day), 20_000):
            sl = slice(start, start + 20_000)
            PriceChange.objects.bulk_create(
                [
                    PriceChange(
                        course_id=int(self.course_ids[c]),
                        old_price_tokens=None if old < 0 else int(old),
                        new_price_tokens=int(new),
                        effective_at=datetime.combine(self._date(day), time(0), tzinfo=UTC),
                        source=PRICE_SOURCES[src],
                        note=notes[int(src)],
                    )
                    for day, c, old, new, src in zip(
                        w.change_day[sl],
                        w.change_course[sl],
                        w.change_old_price[sl],
                        w.change_new_price[sl],
                        w.change_source[sl],
                        strict=True,
                    )
                ],
                batch_size=ROWS_PER_BATCH,
            )
        self.counts["price_changes"] = len(w.change_day)
        self._write_coupons(plan_coupons(self.cfg, w))

    def _write_coupons(self, plan: CouponPlan) -> None:
        """One launch coupon per chosen course (coupons.py), valid from its launch for 60 days."""
        self.coupon_plan = plan
        w = self.world
        coupons = Coupon.objects.bulk_create(
            [
                Coupon(
                    code=plan.code(self.prefix, str(self.course_codes[c])),
                    kind=CouponKind.PERCENT if plan.percent_off[k] else CouponKind.FIXED,
                    percent_off=int(plan.percent_off[k]) or None,
                    tokens_off=int(plan.tokens_off[k]) or None,
                    scope=CouponScope.COURSE,
                    course_id=int(self.course_ids[c]),
                    funded_by=CouponFunder.PLATFORM if plan.platform_funded[k] else CouponFunder.TEACHER,
                    valid_from=datetime.combine(self._date(plan.valid_from_day[k]), time(0), tzinfo=UTC),
                    valid_until=datetime.combine(self._date(plan.valid_until_day[k]), time(0), tzinfo=UTC),
                    created_by_id=int(self.teacher_user_ids[w.course_teacher[c]]),
                )
                for k, c in enumerate(plan.course)
            ]
        )
        self.coupon_ids = np.array([c.pk for c in coupons], dtype=np.int64)
        self.counts["coupons"] = len(coupons)

    # ---------------------------------------------------------------------------------------------
    def _post(self, specs: list[TransferSpec]) -> None:
        for start in range(0, len(specs), BULK_BATCH):
            post_transfers_bulk(specs[start : start + BULK_BATCH])
        self.counts["transfers"] += len(specs)

    def _remember(self, index: np.ndarray, enrollment_ids: np.ndarray, transfer_ids: np.ndarray) -> None:
        needed = int(index.max()) + 1
        if needed > len(self.enrollment_ids):
            size = max(needed, 2 * len(self.enrollment_ids))
            self.enrollment_ids = np.resize(self.enrollment_ids, size)
            self.purchase_transfer_ids = np.resize(self.purchase_transfer_ids, size)
        self.enrollment_ids[index] = enrollment_ids
        self.purchase_transfer_ids[index] = transfer_ids

    def _remember_courses(self, index: np.ndarray, courses: np.ndarray) -> None:
        if int(index.max()) + 1 > len(self.purchase_course):
            self.purchase_course = np.resize(self.purchase_course, len(self.enrollment_ids))
        self.purchase_course[index] = courses

    def write_chunk(self, chunk: Chunk) -> None:
        w, p = self.world, self.prefix
        with transaction.atomic():
            topup_at = _at(self.start, chunk.topup_time_s)
            topups = [
                TransferSpec(
                    kind=TransferKind.TOP_UP,
                    idempotency_key=f"{p}:topup:{chunk.first_day}:{k}",
                    legs=((self.treasury_id, -int(amount)), (int(self.wallet_ids[learner]), int(amount))),
                    memo="Token top-up",
                    created_at=topup_at[k],
                )
                for k, (learner, amount) in enumerate(
                    zip(chunk.topup_learner, chunk.topup_tokens, strict=True)
                )
            ]
            self.counts["transfers"] += len(topups)
            if len(chunk.enrollment_index):
                at = _at(self.start, chunk.purchase_time_s)
                plan = self.coupon_plan
                pairs = purchase_courses_bulk(
                    [
                        BulkPurchase(
                            learner_id=int(self.learner_ids[learner]),
                            course_id=int(self.course_ids[course]),
                            wallet_account_id=int(self.wallet_ids[learner]),
                            pending_account_id=int(self.pending_ids[w.course_teacher[course]]),
                            list_price_tokens=int(price),
                            idempotency_key=f"{p}:purchase:{index}",
                            at=at[k],
                            memo=f"{self.course_codes[course]} purchase",
                            paid_tokens=int(paid) if coupon >= 0 else None,
                            coupon_id=int(self.coupon_ids[coupon]) if coupon >= 0 else None,
                            platform_funded=bool(coupon >= 0 and plan.platform_funded[coupon]),
                        )
                        for k, (index, learner, course, price, paid, coupon) in enumerate(
                            zip(
                                chunk.enrollment_index,
                                chunk.purchase_learner,
                                chunk.purchase_course,
                                chunk.purchase_price,
                                chunk.purchase_paid,
                                chunk.purchase_coupon,
                                strict=True,
                            )
                        )
                    ],
                    funding=topups,
                )
                self.counts["coupon_redemptions"] += int((chunk.purchase_coupon >= 0).sum())
                ids = np.array(pairs, dtype=np.int64)
                self._remember(chunk.enrollment_index, ids[:, 0], ids[:, 1])
                self._remember_courses(chunk.enrollment_index, chunk.purchase_course)
                self.counts["enrollments"] += len(pairs)
                self.counts["transfers"] += len(pairs)
            elif topups:
                self._post(topups)
                self.counts["transfers"] -= len(topups)
            self._write_refunds(chunk)
            self._write_releases(chunk)
            self._write_payouts(chunk)
            self._write_outcomes(chunk)
            self._write_activity(chunk)

    def _write_refunds(self, chunk: Chunk) -> None:
        if not len(chunk.refund_enrollment):
            return
        from tokenecon.models import Entry

        transfer_ids = self.purchase_transfer_ids[chunk.refund_enrollment]
        legs: dict[int, list[tuple[int, int]]] = {}
        for transfer_id, account_id, amount in Entry.objects.filter(
            transfer_id__in=list(transfer_ids)
        ).values_list("transfer_id", "account_id", "amount_tokens"):
            legs.setdefault(transfer_id, []).append((account_id, -amount))
        at = _at(self.start, chunk.refund_time_s)
        self._post(
            [
                TransferSpec(
                    kind=TransferKind.REFUND,
                    idempotency_key=f"{self.prefix}:refund:{index}",
                    legs=tuple(legs[int(t)]),
                    memo="Refund: not satisfied with the course",
                    created_at=at[k],
                    enrollment_id=int(self.enrollment_ids[index]),
                    reverses_id=int(t),
                )
                for k, (index, t) in enumerate(zip(chunk.refund_enrollment, transfer_ids, strict=True))
            ]
        )

    def _write_releases(self, chunk: Chunk) -> None:
        """Teacher shares past their refund window, pending -> available, as ``release_due``
        would have moved them on the day (same keys, so a later ``release_due`` skips them)."""
        if not len(chunk.release_enrollment):
            return
        at = _at(self.start, chunk.release_time_s)
        teacher = self.world.course_teacher[self.purchase_course[chunk.release_enrollment]]
        enrollment_ids = self.enrollment_ids[chunk.release_enrollment]
        self._post(
            [
                release_spec(
                    enrollment_id=int(e),
                    pending_id=int(self.pending_ids[t]),
                    available_id=int(self.earnings_ids[t]),
                    tokens=int(tokens),
                    at=at[k],
                )
                for k, (e, t, tokens) in enumerate(
                    zip(enrollment_ids, teacher, chunk.release_tokens, strict=True)
                )
            ]
        )
        mark_released([(int(e), at[k]) for k, e in enumerate(enrollment_ids)])
        self.counts["releases"] += len(enrollment_ids)

    def _write_payouts(self, chunk: Chunk) -> None:
        """Each payout as the live product records one: a paid ``PayoutRequest`` whose hold
        transfer moved the tokens from available to the payout hold and whose payout transfer
        sent them back to the treasury (decided an hour later by the manual provider)."""
        if not len(chunk.payout_teacher):
            return
        requested = _at(self.start, chunk.payout_time_s)
        end = datetime.combine(self._date(self.cfg.days - 1), time(23, 59), tzinfo=UTC)
        requests = PayoutRequest.objects.bulk_create(
            [
                PayoutRequest(
                    teacher_id=int(self.teacher_ids[t]),
                    amount_tokens=int(amount),
                    money_amount=tokens_to_money(int(amount)),
                    currency=settings.TOKEN_CURRENCY,
                    status=PayoutStatus.PAID,
                    idempotency_key=f"{int(self.teacher_ids[t])}:{self.prefix}-payout-{chunk.first_day}-{k}",
                    provider="manual",
                    provider_reference=f"{self.prefix.upper()}-{chunk.first_day}-{k}",
                    requested_at=requested[k],
                    decided_at=min(requested[k] + timedelta(hours=1), end),
                )
                for k, (t, amount) in enumerate(zip(chunk.payout_teacher, chunk.payout_tokens, strict=True))
            ]
        )
        specs = []
        for r, t in zip(requests, chunk.payout_teacher, strict=True):
            available, hold = int(self.earnings_ids[t]), int(self.hold_ids[t])
            amount = r.amount_tokens
            specs += [
                TransferSpec(
                    kind=TransferKind.PAYOUT_REQUEST,
                    idempotency_key=f"payout:{r.pk}:hold",
                    legs=((available, -amount), (hold, amount)),
                    memo=f"Payout request {r.pk}",
                    created_at=r.requested_at,
                ),
                TransferSpec(
                    kind=TransferKind.PAYOUT,
                    idempotency_key=f"payout:{r.pk}:paid",
                    legs=((hold, -amount), (self.treasury_id, amount)),
                    memo=f"Payout {r.pk} (manual, {r.provider_reference})",
                    created_at=r.decided_at,
                ),
            ]
        self._post(specs)
        ids = dict(
            Transfer.objects.filter(idempotency_key__in=[s.idempotency_key for s in specs]).values_list(
                "idempotency_key", "pk"
            )
        )
        for r in requests:
            r.hold_transfer_id = ids[f"payout:{r.pk}:hold"]
            r.settle_transfer_id = ids[f"payout:{r.pk}:paid"]
        PayoutRequest.objects.bulk_update(
            requests, ["hold_transfer", "settle_transfer"], batch_size=ROWS_PER_BATCH
        )
        self.counts["payouts"] += len(requests)

    def _write_outcomes(self, chunk: Chunk) -> None:
        if not len(chunk.outcome_enrollment):
            return
        completed_at = _at(self.start, np.maximum(chunk.outcome_time_s, 0))
        update_enrollment_outcomes_bulk(
            [
                EnrollmentOutcome(
                    enrollment_id=int(self.enrollment_ids[index]),
                    status=STATUS[int(status)],
                    progress_pct=int(pct),
                    completed_at=completed_at[k] if seconds >= 0 else None,
                    rating=int(rating) if rating > 0 else None,
                )
                for k, (index, status, pct, seconds, rating) in enumerate(
                    zip(
                        chunk.outcome_enrollment,
                        chunk.outcome_status,
                        chunk.outcome_progress_pct,
                        chunk.outcome_time_s,
                        chunk.outcome_rating,
                        strict=True,
                    )
                )
            ]
        )

    def _write_activity(self, chunk: Chunk) -> None:
        """Activity rows with a plain ``executemany``: they are the largest table by far, carry no
        money, and building a model instance per row would double the run's time."""
        if not len(chunk.activity_learner):
            return
        ops = connection.ops
        days = {
            d: ops.adapt_datefield_value(self._date(d)) for d in range(chunk.first_day, chunk.last_day + 1)
        }
        day_values = [days[d] for d in chunk.activity_day.tolist()]
        course_ids = np.where(
            chunk.activity_course >= 0, self.course_ids[np.maximum(chunk.activity_course, 0)], 0
        )
        courses = [c or None for c in course_ids.tolist()]
        rows = list(
            zip(
                self.learner_ids[chunk.activity_learner].tolist(),
                day_values,
                courses,
                chunk.activity_lessons.tolist(),
                chunk.activity_minutes.tolist(),
                chunk.activity_forum.tolist(),
                chunk.activity_assignments.tolist(),
                strict=True,
            )
        )
        table = LearnerActivity._meta
        columns = [
            table.get_field(name).column
            for name in (
                "learner",
                "day",
                "course",
                "lessons_completed",
                "minutes",
                "forum_posts",
                "assignments_submitted",
            )
        ]
        sql = (
            f"INSERT INTO {ops.quote_name(table.db_table)} ({', '.join(ops.quote_name(c) for c in columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})"
        )
        with connection.cursor() as cursor:
            for start in range(0, len(rows), 50_000):
                cursor.executemany(sql, rows[start : start + 50_000])
        self.counts["activity"] += len(rows)
