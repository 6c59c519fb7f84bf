"""The teacher's money pages: earnings (pending with when it clears, available, held, paid out,
per course), the payout request with its confirmation step, the request list, and the monthly
statement as a page and a CSV. Teachers only (staff see payouts in the admin and dashboard)."""

from __future__ import annotations

import io

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from pricing import selectors
from pricing.charts import earnings_figure
from pricing.forms_earnings import PayoutRequestForm
from tokenecon.errors import TokenEconomyError
from tokenecon.htmx import redirect_page, render_page
from tokenecon.models import PayoutRequest
from tokenecon.permissions import role_required
from tokenecon.selectors import teacher_overview
from tokenecon.services.payout_providers import payout_provider
from tokenecon.services.payouts import minimum_tokens, request_payout, scoped_key
from tokenecon.services.rates import tokens_to_money
from tokenecon.services.statements import (
    next_release,
    parse_month,
    statement_months,
    teacher_statement,
    write_teacher_statement_csv,
)

PAGE_SIZE = 50
PENDING_SHOWN = 20


def _payout_form(balances, data=None) -> PayoutRequestForm:
    return PayoutRequestForm(data, available=balances.available, minimum=minimum_tokens())


def _payout_panel_context(overview: dict, form: PayoutRequestForm, *, confirming: bool = False) -> dict:
    amount = form.cleaned_data.get("amount_tokens") if confirming else None
    balances = overview["balances"]
    return {
        "form": form,
        "balances": balances,
        "minimum_tokens": minimum_tokens(),
        "can_request": balances.available >= minimum_tokens(),
        "confirming": confirming,
        "amount_tokens": amount,
        "amount_money": tokens_to_money(amount) if amount else None,
        "available_after": balances.available - amount if amount else None,
        "provider": payout_provider().name,
    }


@role_required("teacher")
@require_GET
def earnings(request):
    user = request.user
    teacher = user.teacher
    overview = teacher_overview(teacher=teacher)  # releases what has cleared first
    weekly = selectors.teacher_earnings_by_week(user=user)
    total_earned, total_paid = selectors.teacher_earnings_totals(weekly=weekly)
    pending = list(
        selectors.pending_enrollments(teacher=teacher, window_days=settings.TOKEN_REFUND_WINDOW_DAYS)
    )
    requests_page = Paginator(selectors.payout_requests_of(teacher), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        **overview,
        **_payout_panel_context(overview, _payout_form(overview["balances"])),
        "next_release": next_release(teacher),
        "pending_rows": pending[:PENDING_SHOWN],
        "pending_more": max(len(pending) - PENDING_SHOWN, 0),
        "course_rows": selectors.course_earnings(teacher=teacher),
        "payout_requests": requests_page,
        "total_earned": total_earned,
        "total_paid": total_paid,
        "months": statement_months(teacher),
        "window_days": settings.TOKEN_REFUND_WINDOW_DAYS,
        "chart": earnings_figure(weekly) if not weekly.empty else None,
    }
    return render(request, "pricing/earnings.html", context)


@role_required("teacher")
@require_POST
def payout_request(request):
    """Step one (no ``confirm``): check the amount and show what will happen. Step two
    (``confirm``): request it through the service; a refusal is shown on the form (400)."""
    teacher = request.user.teacher
    overview = teacher_overview(teacher=teacher)
    form = _payout_form(overview["balances"], request.POST)
    page = "pricing/earnings_payout.html"
    fragment = "pricing/partials/payout_panel.html"
    if request.POST.get("confirm") and _already_requested(teacher, request.POST.get("key", "")):
        # A second submit of a confirmed request: the service replays it (or refuses another amount).
        return _request(request, teacher, overview, form, amount=request.POST.get("amount_tokens", ""))
    if not form.is_valid():
        context = _payout_panel_context(overview, form)
        return render_page(request, page, context, fragment=fragment, status=400, fragment_status=200)
    if not form.cleaned_data.get("confirm"):
        context = _payout_panel_context(overview, form, confirming=True)
        return render_page(request, page, context, fragment=fragment)
    return _request(request, teacher, overview, form, amount=form.cleaned_data["amount_tokens"])


def _already_requested(teacher, key: str) -> bool:
    return (
        bool(key.strip())
        and PayoutRequest.objects.filter(idempotency_key=scoped_key(teacher, key.strip())).exists()
    )


def _request(request, teacher, overview: dict, form: PayoutRequestForm, *, amount):
    try:
        if not isinstance(amount, int):
            amount = int(amount) if str(amount).isascii() and str(amount).isdigit() else amount
        payout = request_payout(
            teacher=teacher, amount_tokens=amount, idempotency_key=request.POST.get("key", "")
        )
    except TokenEconomyError as exc:
        form.add_error(None, str(exc))
        context = _payout_panel_context(overview, form)
        return render_page(
            request,
            "pricing/earnings_payout.html",
            context,
            fragment="pricing/partials/payout_panel.html",
            status=exc.status_code,
            fragment_status=200,
        )
    messages.success(
        request,
        f"Payout request {payout.pk} for {payout.amount_tokens:,} tokens "
        f"({payout.money_amount} {payout.currency}) is with staff; the tokens are held until they decide.",
    )
    return redirect_page(request, reverse("pricing:earnings"))


def _statement_month(request):
    try:
        return parse_month(request.GET.get("month")), None
    except ValueError as exc:
        return None, str(exc)


@role_required("teacher")
@require_GET
def statement(request):
    teacher = request.user.teacher
    month, error = _statement_month(request)
    if error:
        context = {"error": error, "months": statement_months(teacher), "teacher": teacher}
        return render(request, "pricing/earnings_statement.html", context, status=400)
    context = {
        "teacher": teacher,
        "statement": teacher_statement(teacher=teacher, month=month),
        "months": statement_months(teacher),
        "month_value": f"{month:%Y-%m}",
    }
    return render(request, "pricing/earnings_statement.html", context)


@role_required("teacher")
@require_GET
def statement_csv(request):
    teacher = request.user.teacher
    month, error = _statement_month(request)
    if error:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    stream = io.StringIO()
    write_teacher_statement_csv(teacher_statement(teacher=teacher, month=month), stream)
    response = HttpResponse(stream.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="statement-{teacher.external_id}-{month:%Y-%m}.csv"'
    )
    return response
