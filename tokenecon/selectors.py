"""Shared reads of the marketplace and ledger, so pages and the API show the same numbers."""

from __future__ import annotations

from django.db.models import Avg, Count, F, Q, QuerySet, Sum

from tokenecon.models import (
    TEACHER_KINDS,
    Account,
    AccountKind,
    Course,
    Enrollment,
    EnrollmentStatus,
    Entry,
    Learner,
    PayoutRequest,
    PayoutStatus,
    Teacher,
    Transfer,
)
from tokenecon.services.earnings import available_of, hold_of, pending_of, release_due, teacher_balances
from tokenecon.services.rates import tokens_to_money


def catalog_courses() -> QuerySet[Course]:
    return Course.objects.select_related("teacher").order_by("code")


def catalog_courses_visible_to(user) -> QuerySet[Course]:
    """The catalog a caller may read: staff every course; anyone else the published ones, plus a
    teacher's own courses in any status and, as the learner portal shows them, the courses a
    learner has enrolled in (a retired course stays visible to its learners). Drafts of others
    are hidden, so they answer 404 like missing courses."""
    courses = catalog_courses()
    if user.is_authenticated and user.is_staff:
        return courses
    visible = Q(status=Course.Status.PUBLISHED)
    if user.is_authenticated and hasattr(user, "teacher"):
        visible |= Q(teacher=user.teacher)
    if user.is_authenticated and hasattr(user, "learner"):
        visible |= Q(pk__in=Enrollment.objects.filter(learner=user.learner).values("course_id"))
    return courses.filter(visible)


CATALOG_SORTS = {
    "code": ("code",),
    "title": ("title", "code"),
    "rating": (F("sort_rating").desc(nulls_last=True), "-sort_ratings", "code"),
    "popular": ("-sort_learners", "code"),
    "price": ("price_tokens", "code"),
    "-price": ("-price_tokens", "code"),
    "newest": ("-launch_date", "code"),
}

# What a sort orders by that is not a column: the average rating (unrated courses last, then by
# how many ratings), and popularity as the enrollments that were not refunded.
CATALOG_SORT_ANNOTATIONS = {
    "rating": lambda: {
        "sort_rating": Avg("enrollments__rating"),
        "sort_ratings": Count("enrollments__rating"),
    },
    "popular": lambda: {
        "sort_learners": Count("enrollments", filter=~Q(enrollments__status=EnrollmentStatus.REFUNDED)),
    },
}


def search_courses(
    *,
    courses: QuerySet[Course] | None = None,
    query: str = "",
    category: str = "",
    difficulty: str = "",
    price_min: int | None = None,
    price_max: int | None = None,
    sort: str = "",
) -> QuerySet[Course]:
    """The catalog search of the learner page and the API: ``query`` matches the title, the code
    or the description (case-insensitive, an empty query matches everything); the other filters
    narrow the result and ``sort`` is one of ``CATALOG_SORTS`` (the default keeps ``courses``' order).

    ``courses`` is where to search (default: the whole catalog).
    """
    courses = catalog_courses() if courses is None else courses
    if query := query.strip():
        courses = courses.filter(
            Q(title__icontains=query) | Q(code__icontains=query) | Q(description__icontains=query)
        )
    if category:
        courses = courses.filter(category=category)
    if difficulty:
        courses = courses.filter(difficulty=difficulty)
    if price_min is not None:
        courses = courses.filter(price_tokens__gte=price_min)
    if price_max is not None:
        courses = courses.filter(price_tokens__lte=price_max)
    if not sort:
        return courses
    if sort in CATALOG_SORT_ANNOTATIONS:
        courses = courses.annotate(**CATALOG_SORT_ANNOTATIONS[sort]())
    return courses.order_by(*CATALOG_SORTS[sort])


def learners_visible_to(user) -> QuerySet[Learner]:
    """Every learner for staff, only themself for a learner, nobody for anyone else."""
    learners = Learner.objects.select_related("user")
    if user.is_authenticated and user.is_staff:
        return learners
    if user.is_authenticated:
        return learners.filter(user=user)
    return learners.none()


def accounts_of_user(user) -> QuerySet[Account]:
    """The user's token accounts by kind. A teacher always has their three (pending, available,
    held for payout), with what has cleared released first, so the API shows where each token is."""
    teacher = getattr(user, "teacher", None) if user.is_authenticated else None
    if teacher is not None:
        release_due(teacher=teacher)
        for account_of in (pending_of, available_of, hold_of):
            account_of(teacher)
    return Account.objects.filter(owner=user).order_by("kind")


def balance_of_user(user, kind: str) -> int:
    account = Account.objects.filter(owner=user, kind=kind).only("balance_tokens").first()
    return account.balance_tokens if account else 0


def entries_of_user(user) -> QuerySet[Entry]:
    """The caller's side of every transfer touching their accounts, newest first."""
    return (
        Entry.objects.filter(account__owner=user)
        .select_related("transfer", "account")
        .order_by("-transfer__created_at", "-transfer_id")
    )


def teacher_overview(*, teacher: Teacher) -> dict:
    courses = Course.objects.filter(teacher=teacher).annotate(
        live_enrollments=Count("enrollments", filter=~Q(enrollments__status=EnrollmentStatus.REFUNDED))
    )
    # Release on read: what has cleared the refund window shows as available, never as pending.
    balances = teacher_balances(teacher)
    return {
        "teacher": teacher,
        "courses": courses.order_by("code"),
        "balances": balances,
        # The teacher's available earnings (what a payout can be requested from).
        "earnings_tokens": balances.available,
        "earnings_money": tokens_to_money(balances.available),
        "pending_tokens": balances.pending,
        "held_tokens": balances.held,
    }


def learner_overview(*, learner: Learner) -> dict:
    balance = balance_of_user(learner.user, AccountKind.LEARNER_WALLET)
    return {
        "learner": learner,
        "balance_tokens": balance,
        "balance_money": tokens_to_money(balance),
        "enrollments": Enrollment.objects.filter(learner=learner).select_related("course")[:20],
        "entries": entries_of_user(learner.user)[:10],
    }


def platform_overview() -> dict:
    by_kind = dict(
        Account.objects.values("kind").annotate(total=Sum("balance_tokens")).values_list("kind", "total")
    )
    revenue = by_kind.get(AccountKind.PLATFORM_REVENUE) or 0
    return {
        "teacher_count": Teacher.objects.count(),
        "learner_count": Learner.objects.count(),
        "course_count": Course.objects.count(),
        "enrollment_count": Enrollment.objects.count(),
        "transfer_count": Transfer.objects.count(),
        "tokens_issued": -(by_kind.get(AccountKind.PLATFORM_TREASURY) or 0),
        "tokens_in_wallets": by_kind.get(AccountKind.LEARNER_WALLET) or 0,
        # Pending, available and held for payout: every token teachers have earned and not been paid.
        "tokens_owed_to_teachers": sum(by_kind.get(kind) or 0 for kind in TEACHER_KINDS),
        "teacher_pending_tokens": by_kind.get(AccountKind.TEACHER_PENDING) or 0,
        "teacher_available_tokens": by_kind.get(AccountKind.TEACHER_EARNINGS) or 0,
        "teacher_held_tokens": by_kind.get(AccountKind.TEACHER_PAYOUT_HOLD) or 0,
        "payouts_requested": PayoutRequest.objects.filter(status=PayoutStatus.REQUESTED).count(),
        "platform_revenue_tokens": revenue,
        "platform_revenue_money": tokens_to_money(revenue),
    }
