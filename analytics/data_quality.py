"""Data-quality assessment of the marketplace and the token ledger.

Every check is a SQL aggregate through the ORM (counts with filters, grouped sums), never a Python
loop over rows, so the whole assessment stays within a few seconds at the default scale. Each check
reports how many rows it looked at and how many fail; critical checks guard rules the money and
the models depend on (ledger balances, purchases, completion rules), the others guard how useful
the data is (blank profile fields, out-of-range values the database does not refuse).

Score: each check weighs 3 when critical, 1 otherwise. A passing check earns its full weight; a
failing one at most half of it, scaled by the share of its rows that pass. The overall score is
the earned weight over the total, times 100.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from statistics import median

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Avg, Count, F, Max, Min, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from tokenecon.models import (
    Account,
    AccountKind,
    Course,
    CourseCategory,
    Difficulty,
    Enrollment,
    EnrollmentStatus,
    Entry,
    Learner,
    LearnerActivity,
    PriceChange,
    PriceChangeSource,
    Teacher,
    Transfer,
    TransferKind,
)

COMPLETENESS = "completeness"
VALIDITY = "validity"
REFERENTIAL = "referential integrity"
BUSINESS = "business rules"
TIMELINESS = "timeliness"
CATEGORIES = (COMPLETENESS, VALIDITY, REFERENTIAL, BUSINESS, TIMELINESS)
CRITICAL_WEIGHT = 3


@dataclass
class CheckResult:
    key: str
    category: str
    title: str
    critical: bool
    checked: int
    failing: int
    # Share of failing rows still tolerated, for optional fields that may be blank.
    max_failing_pct: float = 0.0

    @property
    def failing_pct(self) -> float:
        return round(100 * self.failing / self.checked, 2) if self.checked else 0.0

    @property
    def passed(self) -> bool:
        return self.failing == 0 or (self.max_failing_pct > 0 and self.failing_pct <= self.max_failing_pct)

    @property
    def weight(self) -> int:
        return CRITICAL_WEIGHT if self.critical else 1

    @property
    def earned(self) -> float:
        if self.passed:
            return float(self.weight)
        passing_share = 1 - self.failing / self.checked if self.checked else 0.0
        return self.weight * 0.5 * passing_share

    def as_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed, "failing_pct": self.failing_pct}


@dataclass
class QualityReport:
    checks: list[CheckResult]
    distributions: dict
    generated_at: datetime
    elapsed_s: float
    score: float = field(init=False)

    def __post_init__(self) -> None:
        total = sum(c.weight for c in self.checks)
        self.score = round(100 * sum(c.earned for c in self.checks) / total, 1) if total else 100.0

    @property
    def critical_failures(self) -> list[CheckResult]:
        return [c for c in self.checks if c.critical and not c.passed]

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]

    def by_category(self) -> list[tuple[str, list[CheckResult]]]:
        return [(name, [c for c in self.checks if c.category == name]) for name in CATEGORIES]

    def as_dict(self) -> dict:
        return {
            "score": self.score,
            "generated_at": self.generated_at.isoformat(),
            "elapsed_s": self.elapsed_s,
            "checked": len(self.checks),
            "failed": len(self.failures),
            "critical_failed": len(self.critical_failures),
            "checks": [c.as_dict() for c in self.checks],
            "distributions": self.distributions,
        }


def _blank(name: str) -> Q:
    return Q(**{f"{name}__isnull": True}) | Q(**{name: ""})


def _counts(queryset, conditions: dict[str, Q]) -> dict[str, int]:
    """Count the rows of ``queryset`` and, in the same query, the rows meeting each condition."""
    aggregates = {key: Count("pk", filter=condition) for key, condition in conditions.items()}
    return queryset.aggregate(_total=Count("pk"), **aggregates)


def _group(
    queryset,
    category: str,
    specs: list[tuple[str, str, Q, bool, float]],
) -> list[CheckResult]:
    """One query for several checks on one table: (key, title, failing condition, critical, tolerance)."""
    counts = _counts(queryset, {key: condition for key, _, condition, _, _ in specs})
    return [
        CheckResult(key, category, title, critical, counts["_total"], counts[key], tolerance)
        for key, title, condition, critical, tolerance in specs
    ]


def _not_in(name: str, choices) -> Q:
    return ~Q(**{f"{name}__in": [value for value, _ in choices.choices]})


def _optional_enum(name: str, choices) -> Q:
    return ~Q(**{name: ""}) & _not_in(name, choices)


# --- completeness -------------------------------------------------------------------------------


def completeness_checks() -> list[CheckResult]:
    return [
        *_group(
            Teacher.objects.all(),
            COMPLETENESS,
            [
                ("teacher_display_name", "Teachers without a display name", _blank("display_name"), True, 0),
                ("teacher_joined_on", "Teachers without a join date", Q(joined_on__isnull=True), False, 20),
            ],
        ),
        *_group(
            Course.objects.all(),
            COMPLETENESS,
            [
                ("course_title", "Courses without a title", _blank("title"), True, 0),
                ("course_description", "Courses without a description", _blank("description"), False, 50),
            ],
        ),
        *_group(
            Learner.objects.all(),
            COMPLETENESS,
            [
                ("learner_country", "Learners without a country", _blank("country"), True, 0),
                ("learner_age_group", "Learners without an age group", _blank("age_group"), False, 30),
                ("learner_education", "Learners without an education level", _blank("education"), False, 30),
                (
                    "learner_channel",
                    "Learners without an acquisition channel",
                    _blank("acquisition_channel"),
                    False,
                    30,
                ),
            ],
        ),
        *_group(
            Enrollment.objects.filter(status=EnrollmentStatus.COMPLETED),
            COMPLETENESS,
            [
                (
                    "completed_without_time",
                    "Completed enrollments without a completion time",
                    Q(completed_at__isnull=True),
                    True,
                    0,
                ),
                (
                    "completed_without_rating",
                    "Completed enrollments without a rating",
                    Q(rating__isnull=True),
                    False,
                    60,
                ),
            ],
        ),
    ]


# --- validity -----------------------------------------------------------------------------------


def validity_checks() -> list[CheckResult]:
    low, high = settings.TOKEN_PRICE_MIN, settings.TOKEN_PRICE_MAX
    out_of_range = ~Q(price_tokens__gte=low, price_tokens__lte=high)
    return [
        *_group(
            Course.objects.all(),
            VALIDITY,
            [
                ("course_price_range", f"Course prices outside {low}-{high} tokens", out_of_range, True, 0),
                (
                    "course_category_enum",
                    "Courses with an unknown category",
                    _not_in("category", CourseCategory),
                    True,
                    0,
                ),
                (
                    "course_difficulty_enum",
                    "Courses with an unknown difficulty",
                    _not_in("difficulty", Difficulty),
                    True,
                    0,
                ),
                (
                    "course_status_enum",
                    "Courses with an unknown status",
                    _not_in("status", Course.Status),
                    True,
                    0,
                ),
                (
                    "course_duration",
                    "Courses with a duration of 0 hours or less",
                    Q(duration_hours__lte=0),
                    True,
                    0,
                ),
            ],
        ),
        *_group(
            PriceChange.objects.all(),
            VALIDITY,
            [
                (
                    "price_change_range",
                    f"Price changes to a price outside {low}-{high} tokens",
                    ~Q(new_price_tokens__gte=low, new_price_tokens__lte=high),
                    False,
                    0,
                ),
                (
                    "price_change_source_enum",
                    "Price changes with an unknown source",
                    _not_in("source", PriceChangeSource),
                    False,
                    0,
                ),
            ],
        ),
        *_group(
            Enrollment.objects.all(),
            VALIDITY,
            [
                (
                    "enrollment_list_price_range",
                    f"Enrollments whose list price is outside {low}-{high} tokens",
                    ~Q(list_price_tokens__gte=low, list_price_tokens__lte=high),
                    False,
                    0,
                ),
                (
                    "enrollment_progress_range",
                    "Enrollments with progress outside 0-100",
                    ~Q(progress_pct__gte=0, progress_pct__lte=100),
                    True,
                    0,
                ),
                (
                    "enrollment_rating_range",
                    "Ratings outside 1-5",
                    Q(rating__lt=1) | Q(rating__gt=5),
                    True,
                    0,
                ),
                (
                    "enrollment_discount_range",
                    "Discounts outside 0-100 %",
                    Q(discount_pct__lt=0) | Q(discount_pct__gte=100),
                    True,
                    0,
                ),
                (
                    "enrollment_status_enum",
                    "Enrollments with an unknown status",
                    _not_in("status", EnrollmentStatus),
                    True,
                    0,
                ),
            ],
        ),
        *_group(
            Teacher.objects.all(),
            VALIDITY,
            [
                (
                    "teacher_quality_range",
                    "Teacher quality scores outside 0-100",
                    Q(quality_score__gt=100),
                    True,
                    0,
                )
            ],
        ),
        *_group(
            Learner.objects.all(),
            VALIDITY,
            [
                (
                    "learner_country_code",
                    "Learners whose country is not a two-letter code",
                    ~Q(country__regex=r"^[A-Z]{2}$"),
                    False,
                    0,
                ),
                (
                    "learner_enums",
                    "Learners with an unknown age group, education or channel",
                    _optional_enum("age_group", Learner.AgeGroup)
                    | _optional_enum("education", Learner.Education)
                    | _optional_enum("acquisition_channel", Learner.Channel),
                    False,
                    0,
                ),
            ],
        ),
        *_group(
            LearnerActivity.objects.all(),
            VALIDITY,
            [
                (
                    "activity_minutes_range",
                    "Activity days with more than 1440 minutes",
                    Q(minutes__gt=1440),
                    False,
                    0,
                )
            ],
        ),
        *_group(
            Transfer.objects.all(),
            VALIDITY,
            [
                (
                    "transfer_kind_enum",
                    "Transfers with an unknown kind",
                    _not_in("kind", TransferKind),
                    True,
                    0,
                )
            ],
        ),
        *_group(
            Account.objects.all(),
            VALIDITY,
            [("account_kind_enum", "Accounts with an unknown kind", _not_in("kind", AccountKind), True, 0)],
        ),
    ]


# --- referential integrity ----------------------------------------------------------------------


def referential_checks() -> list[CheckResult]:
    users = get_user_model().objects.values("pk")
    wallets = Account.objects.filter(kind=AccountKind.LEARNER_WALLET)
    earnings = Account.objects.filter(kind=AccountKind.TEACHER_EARNINGS)
    platform = Account.objects.filter(kind__in=[AccountKind.PLATFORM_REVENUE, AccountKind.PLATFORM_TREASURY])
    learner_wallets = Count(
        "user__token_accounts", filter=Q(user__token_accounts__kind=AccountKind.LEARNER_WALLET)
    )
    teacher_earnings = Count(
        "user__token_accounts", filter=Q(user__token_accounts__kind=AccountKind.TEACHER_EARNINGS)
    )
    return [
        *_group(
            Enrollment.objects.all(),
            REFERENTIAL,
            [
                (
                    "enrollment_course_exists",
                    "Enrollments pointing at a missing course",
                    ~Q(course_id__in=Course.objects.values("pk")),
                    True,
                    0,
                ),
                (
                    "enrollment_learner_exists",
                    "Enrollments pointing at a missing learner",
                    ~Q(learner_id__in=Learner.objects.values("pk")),
                    True,
                    0,
                ),
            ],
        ),
        *_group(
            Course.objects.all(),
            REFERENTIAL,
            [
                (
                    "course_teacher_exists",
                    "Courses pointing at a missing teacher",
                    ~Q(teacher_id__in=Teacher.objects.values("pk")),
                    True,
                    0,
                )
            ],
        ),
        *_group(
            wallets,
            REFERENTIAL,
            [
                (
                    "wallet_owner_is_learner",
                    "Learner wallets whose owner is not a learner",
                    ~Q(owner_id__in=Learner.objects.values("user_id")),
                    True,
                    0,
                )
            ],
        ),
        *_group(
            earnings,
            REFERENTIAL,
            [
                (
                    "earnings_owner_is_teacher",
                    "Earnings accounts whose owner is not a teacher",
                    ~Q(owner_id__in=Teacher.objects.values("user_id")),
                    True,
                    0,
                )
            ],
        ),
        *_group(
            platform,
            REFERENTIAL,
            [
                (
                    "platform_account_unowned",
                    "Platform accounts with an owner",
                    Q(owner__isnull=False),
                    True,
                    0,
                )
            ],
        ),
        CheckResult(
            "learner_one_wallet",
            REFERENTIAL,
            "Learners without exactly one wallet",
            True,
            Learner.objects.count(),
            Learner.objects.annotate(n=learner_wallets).exclude(n=1).count(),
        ),
        CheckResult(
            "teacher_one_earnings",
            REFERENTIAL,
            "Teachers without exactly one earnings account",
            True,
            Teacher.objects.count(),
            Teacher.objects.annotate(n=teacher_earnings).exclude(n=1).count(),
        ),
        *_group(
            Account.objects.filter(owner__isnull=False),
            REFERENTIAL,
            [
                (
                    "account_owner_exists",
                    "Accounts pointing at a missing user",
                    ~Q(owner_id__in=users),
                    True,
                    0,
                )
            ],
        ),
        *_group(
            PriceChange.objects.all(),
            REFERENTIAL,
            [
                (
                    "price_change_course_exists",
                    "Price changes of a missing course",
                    ~Q(course_id__in=Course.objects.values("pk")),
                    False,
                    0,
                )
            ],
        ),
        *_group(
            LearnerActivity.objects.all(),
            REFERENTIAL,
            [
                (
                    "activity_learner_exists",
                    "Activity of a missing learner",
                    ~Q(learner_id__in=Learner.objects.values("pk")),
                    False,
                    0,
                )
            ],
        ),
    ]


# --- business rules -----------------------------------------------------------------------------


def business_checks() -> list[CheckResult]:
    accounts = Account.objects.count()
    drift = (
        Account.objects.annotate(entries_total=Coalesce(Sum("entries__amount_tokens"), 0))
        .exclude(balance_tokens=F("entries_total"))
        .count()
    )
    balance_total = Account.objects.aggregate(total=Coalesce(Sum("balance_tokens"), 0))["total"]
    transfers = Transfer.objects.count()
    per_transfer = Entry.objects.values("transfer_id").annotate(total=Sum("amount_tokens"), legs=Count("pk"))
    unbalanced = per_transfer.filter(~Q(total=0) | Q(legs__lt=2)).count()
    without_entries = Transfer.objects.filter(entries__isnull=True).count()
    negative = (
        Account.objects.exclude(kind=AccountKind.PLATFORM_TREASURY).filter(balance_tokens__lt=0).count()
    )
    enrollments = Enrollment.objects.all()
    purchases = Count("transfers", filter=Q(transfers__kind=TransferKind.PURCHASE))
    refunds = Count("transfers", filter=Q(transfers__kind=TransferKind.REFUND))
    ledger_counts = enrollments.annotate(purchases=purchases, refunds=refunds)
    refunded = EnrollmentStatus.REFUNDED
    purchase_wallet_entries = Entry.objects.filter(
        transfer__kind=TransferKind.PURCHASE,
        account__kind=AccountKind.LEARNER_WALLET,
        transfer__enrollment__isnull=False,
    )
    results = [
        CheckResult(
            "balances_match_entries",
            BUSINESS,
            "Account balances that differ from the sum of their entries",
            True,
            accounts,
            drift,
        ),
        CheckResult(
            "balances_sum_to_zero",
            BUSINESS,
            f"All balances sum to zero (off by {balance_total})",
            True,
            1,
            int(balance_total != 0),
        ),
        CheckResult(
            "transfers_balanced",
            BUSINESS,
            "Transfers whose entries do not sum to zero (or have one leg)",
            True,
            transfers,
            unbalanced + without_entries,
        ),
        CheckResult(
            "balances_non_negative",
            BUSINESS,
            "Learner, teacher or revenue balances below zero",
            True,
            accounts,
            negative,
        ),
        *_group(
            enrollments,
            BUSINESS,
            [
                (
                    "paid_not_above_list",
                    "Enrollments paid above the list price",
                    Q(price_paid_tokens__gt=F("list_price_tokens")),
                    True,
                    0,
                ),
                (
                    "completion_after_enrollment",
                    "Completions before enrollment",
                    Q(completed_at__lt=F("enrolled_at")),
                    True,
                    0,
                ),
                (
                    "completed_progress_100",
                    "Completed enrollments with progress below 100",
                    Q(status=EnrollmentStatus.COMPLETED, progress_pct__lt=100),
                    True,
                    0,
                ),
                (
                    "enrolled_after_joining",
                    "Enrollments before the learner joined",
                    Q(enrolled_at__date__lt=F("learner__joined_on")),
                    False,
                    0,
                ),
            ],
        ),
        CheckResult(
            "live_one_purchase",
            BUSINESS,
            "Live enrollments without exactly one purchase transfer (or with a refund)",
            True,
            enrollments.exclude(status=refunded).count(),
            ledger_counts.exclude(status=refunded).filter(~Q(purchases=1) | Q(refunds__gt=0)).count(),
        ),
        CheckResult(
            "refunded_has_refund",
            BUSINESS,
            "Refunded enrollments without exactly one purchase and one refund transfer",
            True,
            enrollments.filter(status=refunded).count(),
            ledger_counts.filter(status=refunded).filter(~Q(purchases=1) | ~Q(refunds=1)).count(),
        ),
        CheckResult(
            "purchase_amount_matches",
            BUSINESS,
            "Purchases whose wallet debit differs from the enrollment's price paid",
            True,
            purchase_wallet_entries.count(),
            purchase_wallet_entries.exclude(
                amount_tokens=-F("transfer__enrollment__price_paid_tokens")
            ).count(),
        ),
    ]
    null_course_days = (
        LearnerActivity.objects.filter(course__isnull=True)
        .values("learner_id", "day")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    results.append(
        CheckResult(
            "activity_unique",
            BUSINESS,
            "Learner days with more than one course-less activity row",
            False,
            LearnerActivity.objects.filter(course__isnull=True).count(),
            null_course_days,
        )
    )
    return results


# --- timeliness: is the data window alive to its end, without holes? ---------------------------
# A model trained on a window whose last weeks are empty (a stray enrollment weeks after the last
# simulated day stretched it) scored a held-out R² of -0.55 and was still promoted; these two
# checks catch such a window before training (the pipeline runs them on its own window too).


def daily_enrollments() -> dict[date, int]:
    """Enrollments per day (one grouped query), for the whole window they span."""
    rows = (
        Enrollment.objects.annotate(day=TruncDate("enrolled_at"))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    return {day: n for day, n in rows if day is not None}


def _window(per_day: dict[date, int]) -> tuple[date, date] | None:
    days = [day for day, n in per_day.items() if n]
    return (min(days), max(days)) if days else None


def freshness_check(
    per_day: dict[date, int],
    *,
    end: date | None = None,
    recent_days: int | None = None,
    min_share: float | None = None,
) -> CheckResult:
    """Fails when the window's last ``recent_days`` days (to ``end``, by default its last day with
    an enrollment) average less than ``min_share`` of the usual day: the median of the days
    before them."""
    recent_days = recent_days or settings.DATA_FRESHNESS_DAYS
    min_share = settings.DATA_FRESHNESS_MIN_SHARE if min_share is None else min_share
    window = _window(per_day)
    if window is None:
        return CheckResult("enrollments_fresh", TIMELINESS, "Recent enrollments: there are none", True, 0, 0)
    start, last = window
    end = end or last
    cut = end - timedelta(days=recent_days - 1)
    before = [per_day.get(start + timedelta(days=i), 0) for i in range((cut - start).days)]
    recent = sum(per_day.get(cut + timedelta(days=i), 0) for i in range(recent_days)) / recent_days
    if not before:
        title = (
            f"The window ({start:%Y-%m-%d} to {end:%Y-%m-%d}) is too short to judge its last "
            f"{recent_days} days"
        )
        return CheckResult("enrollments_fresh", TIMELINESS, title, True, 1, 0)
    usual = float(median(before))
    stale = usual > 0 and recent < min_share * usual
    title = (
        f"The last {recent_days} days of the window (to {end:%Y-%m-%d}) average {recent:.1f} enrollments "
        f"a day against a usual {usual:.1f} (at least {min_share:.0%} of it needed)"
    )
    return CheckResult("enrollments_fresh", TIMELINESS, title, True, 1, int(stale))


def gap_check(per_day: dict[date, int], *, min_gap_days: int | None = None) -> CheckResult:
    """Fails for every day inside a run of ``min_gap_days`` or more days without an enrollment
    between the window's first and last enrollment (a quiet day or two is no gap)."""
    min_gap_days = min_gap_days or settings.DATA_GAP_MIN_DAYS
    window = _window(per_day)
    if window is None:
        return CheckResult(
            "enrollments_no_gap", TIMELINESS, "Days without enrollments: none to check", True, 0, 0
        )
    start, end = window
    days = (end - start).days + 1
    gaps: list[tuple[date, int]] = []
    run_start, run = None, 0
    for i in range(days):
        day = start + timedelta(days=i)
        if per_day.get(day, 0):
            if run >= min_gap_days:
                gaps.append((run_start, run))
            run_start, run = None, 0
        else:
            run_start, run = run_start or day, run + 1
    gap_days = sum(length for _, length in gaps)
    if gaps:
        longest_start, longest = max(gaps, key=lambda gap: gap[1])
        title = (
            f"Days without any enrollment inside the window ({start:%Y-%m-%d} to {end:%Y-%m-%d}): "
            f"{gap_days} in {len(gaps)} gap{'s' if len(gaps) != 1 else ''} of {min_gap_days}+ days, "
            f"the longest {longest} days from {longest_start:%Y-%m-%d}"
        )
    else:
        title = (
            f"Days without any enrollment inside the window ({start:%Y-%m-%d} to {end:%Y-%m-%d}), "
            f"in runs of {min_gap_days}+ days"
        )
    return CheckResult("enrollments_no_gap", TIMELINESS, title, True, days, gap_days)


def timeliness_checks(per_day: dict[date, int] | None = None) -> list[CheckResult]:
    per_day = daily_enrollments() if per_day is None else per_day
    return [freshness_check(per_day), gap_check(per_day)]


# --- distributions ------------------------------------------------------------------------------


def distributions() -> dict:
    low, high = settings.TOKEN_PRICE_MIN, settings.TOKEN_PRICE_MAX
    width = -(-(high - low + 1) // 10)
    starts = [start for start in range(low, high + 1, width)]
    buckets = {
        f"{start}-{min(start + width - 1, high)}": Count(
            "pk", filter=Q(price_tokens__gte=start, price_tokens__lt=start + width)
        )
        for start in starts
    }
    price = Course.objects.aggregate(
        courses=Count("pk"),
        min=Min("price_tokens"),
        max=Max("price_tokens"),
        mean=Avg("price_tokens"),
        **buckets,
    )
    histogram = {label: price.pop(label) for label in buckets}
    per_course = Course.objects.annotate(
        n=Count("enrollments", filter=~Q(enrollments__status=EnrollmentStatus.REFUNDED))
    )
    enrollments_per_course = per_course.aggregate(min=Min("n"), max=Max("n"), mean=Avg("n"))
    enrollments_per_course["courses_without_enrollments"] = per_course.filter(n=0).count()
    ratings = list(
        Enrollment.objects.filter(rating__isnull=False)
        .values("course__category")
        .annotate(ratings=Count("pk"), mean=Avg("rating"))
        .order_by("course__category")
    )
    status_counts = dict(Enrollment.objects.values_list("status").annotate(n=Count("pk")).order_by("status"))
    return {
        "price_tokens": {**_rounded(price), "histogram": histogram},
        "enrollments_per_course": _rounded(enrollments_per_course),
        "ratings_by_category": [
            {"category": r["course__category"], "ratings": r["ratings"], "mean": round(float(r["mean"]), 2)}
            for r in ratings
        ],
        "enrollment_status": status_counts,
    }


def _rounded(values: dict) -> dict:
    return {
        k: round(float(v), 2) if isinstance(v, float) or hasattr(v, "as_tuple") else v
        for k, v in values.items()
    }


CHECK_GROUPS: tuple[Callable[[], list[CheckResult]], ...] = (
    completeness_checks,
    validity_checks,
    referential_checks,
    business_checks,
    timeliness_checks,
)


def assess_data_quality() -> QualityReport:
    """Run every check and the distribution summaries; read-only."""
    started = time.perf_counter()
    checks = [check for group in CHECK_GROUPS for check in group()]
    summary = distributions()
    return QualityReport(
        checks=checks,
        distributions=summary,
        generated_at=timezone.now(),
        elapsed_s=round(time.perf_counter() - started, 2),
    )
