"""CSV downloads of the teacher portal's tables: the staff's price-advice list (the rows the
filters select, every page, the page's columns) and a teacher's payout requests."""

from __future__ import annotations

from django.views.decorators.http import require_GET

from pricing import selectors
from pricing.forms_staff import StaffAdviceFilterForm
from pricing.services.staleness import advice_freshness
from tokenecon.permissions import role_required
from tokenecon.table_csv import csv_response

ADVICE_HEADER = [
    "Code",
    "Teacher",
    "Category",
    "Price",
    "Recommended",
    "Earnings change / 30 days",
    "Confidence",
]
PAYOUT_HEADER = ["#", "Requested", "Tokens", "Money", "Currency", "Status", "Decided", "Reference or reason"]


def _advice_cell(course) -> str:
    """The page's last column: the confidence, or that the advice is stale."""
    if course.advice is None:
        return ""
    if course.advice_stale:
        return f"stale: model v{course.advice.model_version}"
    return course.advice.get_confidence_display()


@role_required("staff")
@require_GET
def staff_courses_csv(request):
    courses = StaffAdviceFilterForm(request.GET).filter(selectors.courses_visible_to(request.user))
    rows = selectors.courses_with_advice(courses=courses)
    advice_freshness().mark(rows)
    return csv_response(
        "price-advice.csv",
        ADVICE_HEADER,
        (
            [
                course.code,
                course.teacher.display_name,
                course.get_category_display(),
                course.price_tokens,
                course.advice.recommended_price_tokens if course.advice else None,
                round(course.advice.earnings_change) if course.advice else None,
                _advice_cell(course),
            ]
            for course in rows
        ),
    )


@role_required("teacher")
@require_GET
def payouts_csv(request):
    teacher = request.user.teacher
    return csv_response(
        f"payouts-{teacher.external_id}.csv",
        PAYOUT_HEADER,
        (
            [
                payout.pk,
                f"{payout.requested_at:%Y-%m-%d %H:%M}",
                payout.amount_tokens,
                f"{payout.money_amount:.2f}",
                payout.currency,
                payout.get_status_display(),
                f"{payout.decided_at:%Y-%m-%d %H:%M}" if payout.decided_at else "",
                payout.provider_reference if payout.status == "paid" else payout.reason,
            ]
            for payout in selectors.payout_requests_of(teacher)
        ),
    )
