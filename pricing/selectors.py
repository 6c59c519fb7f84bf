"""Shared reads: marketplace data as DataFrames for the demand models, the pricing settings, and
the courses, advice and earnings the teacher portal and the pricing API show."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from django.db.models import Count, F, Max, Min, Q, QuerySet, Sum

from pricing.models import AdviceRun, PriceRecommendation, PricingSettings
from tokenecon.models import (
    TEACHER_KINDS,
    AccountKind,
    Course,
    Enrollment,
    EnrollmentStatus,
    Entry,
    PayoutRequest,
    PriceChange,
    Teacher,
    TransferKind,
)


def course_frame() -> pd.DataFrame:
    rows = Course.objects.values(
        "code",
        "category",
        "difficulty",
        "duration_hours",
        "certificate_offered",
        "launch_date",
        "price_tokens",
        course_id=F("id"),
        teacher_quality=F("teacher__quality_score"),
        teacher_years=F("teacher__years_experience"),
    )
    frame = pd.DataFrame.from_records(list(rows))
    if frame.empty:
        return frame
    frame["duration_hours"] = frame["duration_hours"].astype(float)
    return frame


def price_change_frame() -> pd.DataFrame:
    rows = PriceChange.objects.values_list(
        "course_id", "effective_at", "old_price_tokens", "new_price_tokens"
    )
    return pd.DataFrame.from_records(
        list(rows), columns=["course_id", "effective_at", "old_price_tokens", "new_price_tokens"]
    )


def enrollment_frame(*, until: date | None = None) -> pd.DataFrame:
    rows = Enrollment.objects.all()
    if until is not None:
        rows = rows.filter(enrolled_at__date__lte=until)
    records = rows.values_list("course_id", "enrolled_at", "completed_at", "rating")
    return pd.DataFrame.from_records(
        list(records), columns=["course_id", "enrolled_at", "completed_at", "rating"]
    )


def enrollment_window() -> tuple[date | None, date | None]:
    bounds = Enrollment.objects.aggregate(first=Min("enrolled_at"), last=Max("enrolled_at"))
    if bounds["first"] is None:
        return None, None
    return bounds["first"].date(), bounds["last"].date()


def data_signature() -> dict:
    """What identifies the training data: counts and the newest rows (for idempotent training)."""
    return {
        "courses": Course.objects.count(),
        "enrollments": Enrollment.objects.count(),
        "last_enrollment": str(Enrollment.objects.aggregate(m=Max("id"))["m"]),
        "price_changes": PriceChange.objects.count(),
        "last_price_change": str(PriceChange.objects.aggregate(m=Max("id"))["m"]),
    }


# --- Pricing settings and advice runs ---------------------------------------------------------


def pricing_settings() -> PricingSettings:
    """The admin's pricing settings: the stored row, or the defaults (unsaved) before anyone saved
    them. Reading never writes; the settings are written only where they are saved (the admin)."""
    return PricingSettings.objects.order_by("pk").first() or PricingSettings()


def active_advice_run() -> AdviceRun | None:
    """The newest advice recompute that is still queued or running, for the staff page to follow."""
    return (
        AdviceRun.objects.filter(status__in=[AdviceRun.Status.QUEUED, AdviceRun.Status.RUNNING])
        .order_by("-created_at", "-id")
        .first()
    )


# --- Teacher portal and pricing API ----------------------------------------------------------


def courses_visible_to(user) -> QuerySet[Course]:
    """Staff see every course, a teacher their own, everybody else none."""
    courses = Course.objects.select_related("teacher")
    if user.is_authenticated and user.is_staff:
        return courses
    if user.is_authenticated and hasattr(user, "teacher"):
        return courses.filter(teacher=user.teacher)
    return courses.none()


def recommendations_visible_to(user) -> QuerySet[PriceRecommendation]:
    recommendations = PriceRecommendation.objects.select_related("course", "decided_by")
    if user.is_authenticated and user.is_staff:
        return recommendations
    if user.is_authenticated and hasattr(user, "teacher"):
        return recommendations.filter(course__teacher=user.teacher)
    return recommendations.none()


def pending_recommendation(*, course: Course) -> PriceRecommendation | None:
    return (
        PriceRecommendation.objects.filter(course=course, status=PriceRecommendation.Status.PENDING)
        .order_by("-created_at")
        .first()
    )


def courses_with_advice(*, courses: QuerySet[Course]) -> list[Course]:
    """The courses with their live enrollment count and pending recommendation (``advice``, or None)."""
    rows = list(
        courses.annotate(
            live_enrollments=Count("enrollments", filter=~Q(enrollments__status=EnrollmentStatus.REFUNDED))
        ).order_by("code")
    )
    advice = {
        r.course_id: r
        for r in PriceRecommendation.objects.filter(
            course__in=[c.pk for c in rows], status=PriceRecommendation.Status.PENDING
        )
    }
    for course in rows:
        course.advice = advice.get(course.pk)
    return rows


def pending_price_moves_count(*, courses: QuerySet[Course]) -> int:
    """How many of these courses have pending advice that changes their price ("keep the price"
    advice asks nothing of anyone, so it is not counted)."""
    return (
        PriceRecommendation.objects.filter(course__in=courses, status=PriceRecommendation.Status.PENDING)
        .exclude(recommended_price_tokens=F("current_price_tokens"))
        .count()
    )


def price_history(*, course: Course, limit: int = 50) -> list[PriceChange]:
    """The course's latest price changes, newest first."""
    return list(
        PriceChange.objects.filter(course=course)
        .select_related("approved_by")
        .order_by("-effective_at", "-id")[:limit]
    )


# Moves between a teacher's own accounts (pending -> available -> hold and back): not earnings.
INTERNAL_TEACHER_KINDS = (TransferKind.RELEASE, TransferKind.PAYOUT_REQUEST, TransferKind.PAYOUT_RETURN)


def teacher_earnings_by_week(*, user) -> pd.DataFrame:
    """Earnings credited and paid out per week from the teacher's ledger entries (all three of
    their accounts; moves between them left out), with the cumulative earnings (credits less
    refunds, before payouts)."""
    rows = (
        Entry.objects.filter(account__owner=user, account__kind__in=TEACHER_KINDS)
        .exclude(transfer__kind__in=INTERNAL_TEACHER_KINDS)
        .values_list("transfer__created_at", "transfer__kind", "amount_tokens")
        .order_by("transfer__created_at")
    )
    frame = pd.DataFrame.from_records(list(rows), columns=["created_at", "kind", "amount_tokens"])
    columns = ["week", "earned_tokens", "paid_out_tokens", "cumulative_earned_tokens"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["week"] = pd.to_datetime(frame["created_at"], utc=True).dt.tz_localize(None).dt.to_period("W")
    payout = frame["kind"] == TransferKind.PAYOUT
    frame["earned_tokens"] = frame["amount_tokens"].where(~payout, 0)
    frame["paid_out_tokens"] = (-frame["amount_tokens"]).where(payout, 0)
    weekly = frame.groupby("week")[["earned_tokens", "paid_out_tokens"]].sum().reset_index()
    weekly["cumulative_earned_tokens"] = weekly["earned_tokens"].cumsum()
    weekly["week"] = weekly["week"].dt.start_time.dt.date
    return weekly[columns]


def teacher_earnings_totals(*, weekly: pd.DataFrame) -> tuple[int, int]:
    """Tokens earned to date and paid out, from ``teacher_earnings_by_week``."""
    if weekly.empty:
        return 0, 0
    return int(weekly["earned_tokens"].sum()), int(weekly["paid_out_tokens"].sum())


def payouts_of_user(user) -> QuerySet[Entry]:
    return (
        Entry.objects.filter(account__owner=user, transfer__kind=TransferKind.PAYOUT)
        .select_related("transfer")
        .order_by("-transfer__created_at", "-transfer_id")
    )


def payout_requests_of(teacher: Teacher) -> QuerySet[PayoutRequest]:
    """The teacher's payout requests, newest first, with their status."""
    return PayoutRequest.objects.filter(teacher=teacher).order_by("-requested_at", "-id")


def pending_enrollments(*, teacher: Teacher, window_days: int):
    """The teacher's enrollments whose share is still pending, soonest to clear first, each with
    the tokens pending (``pending_tokens``) and when they clear (``clears_at``)."""
    rows = (
        Enrollment.objects.filter(course__teacher=teacher, released_at__isnull=True)
        .exclude(status=EnrollmentStatus.REFUNDED)
        .annotate(
            pending_tokens=Sum(
                "transfers__entries__amount_tokens",
                filter=Q(
                    transfers__kind=TransferKind.PURCHASE,
                    transfers__entries__account__kind=AccountKind.TEACHER_PENDING,
                ),
            )
        )
        .filter(pending_tokens__gt=0)
        .select_related("course")
        .order_by("enrolled_at", "id")
    )
    window = timedelta(days=window_days)
    for row in rows:
        row.clears_at = row.enrolled_at + window
        yield row


def course_earnings(*, teacher: Teacher) -> list[dict]:
    """Per course of the teacher's: sales, tokens earned (their share), refunded, net, and how
    much of it is still pending, from the ledger."""
    sums = (
        Entry.objects.filter(
            account__owner_id=teacher.user_id,
            account__kind__in=TEACHER_KINDS,
            transfer__kind__in=[TransferKind.PURCHASE, TransferKind.REFUND, TransferKind.RELEASE],
            transfer__enrollment__isnull=False,
        )
        .values("transfer__enrollment__course_id")
        .annotate(
            earned=Sum("amount_tokens", filter=Q(transfer__kind=TransferKind.PURCHASE)),
            refunded=Sum("amount_tokens", filter=Q(transfer__kind=TransferKind.REFUND)),
            pending=Sum("amount_tokens", filter=Q(account__kind=AccountKind.TEACHER_PENDING)),
        )
    )
    by_course = {row["transfer__enrollment__course_id"]: row for row in sums}
    sales = dict(
        Enrollment.objects.filter(course__teacher=teacher)
        .values("course_id")
        .annotate(n=Count("id", filter=~Q(status=EnrollmentStatus.REFUNDED)))
        .values_list("course_id", "n")
    )
    result = []
    for course in Course.objects.filter(teacher=teacher).order_by("code"):
        row = by_course.get(course.pk, {})
        earned, refunded = row.get("earned") or 0, -(row.get("refunded") or 0)
        result.append(
            {
                "course": course,
                "sales": sales.get(course.pk, 0),
                "earned": earned,
                "refunded": refunded,
                "net": earned - refunded,
                "pending": row.get("pending") or 0,
            }
        )
    return result


def last_price_change_days(*, course_ids: list[int]) -> dict[int, date]:
    """The day of each course's latest price change (its initial price is no change)."""
    rows = (
        PriceChange.objects.filter(course_id__in=course_ids, old_price_tokens__isnull=False)
        .values("course_id")
        .annotate(last=Max("effective_at"))
    )
    return {row["course_id"]: row["last"].date() for row in rows}


def dismissed_advice(*, course_ids: list[int]) -> dict[int, PriceRecommendation]:
    """Each course's latest decided advice, where that decision was a dismissal."""
    decided = PriceRecommendation.objects.filter(
        course_id__in=course_ids,
        status__in=[PriceRecommendation.Status.APPLIED, PriceRecommendation.Status.DISMISSED],
    ).order_by("course_id", "-decided_at", "-id")
    latest: dict[int, PriceRecommendation] = {}
    for recommendation in decided:
        latest.setdefault(recommendation.course_id, recommendation)
    return {c: r for c, r in latest.items() if r.status == PriceRecommendation.Status.DISMISSED}


def recommendations_to_confirm(*, ids: list[int]) -> list[PriceRecommendation]:
    """The advice staff ticked, with its course and teacher, in course order, to confirm."""
    return list(
        PriceRecommendation.objects.filter(pk__in=ids)
        .select_related("course__teacher")
        .order_by("course__code")
    )
