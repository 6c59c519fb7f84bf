"""Staff's payout queue on the dashboard: requested payouts oldest first, bulk approve with a
confirmation step, and reject with a reason. Decisions go through ``services.payouts`` (each
request decided once; one refused request does not stop the others)."""

from __future__ import annotations

import re

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Sum
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from tokenecon.errors import TokenEconomyError
from tokenecon.models import PayoutRequest, PayoutStatus
from tokenecon.permissions import role_required
from tokenecon.services.payout_providers import payout_provider
from tokenecon.services.payouts import approve_many, reject_payout, requested_queue
from tokenecon.services.rates import tokens_to_money

PAGE_SIZE = 100
MAX_SELECTED = 500
# A request number as a form sends it: ASCII digits, within the bigint range.
REQUEST_ID = re.compile(r"[1-9][0-9]{0,17}")


@role_required("staff")
@require_GET
def payout_queue(request):
    queue = requested_queue()
    totals = queue.aggregate(tokens=Sum("amount_tokens"))
    decided = (
        PayoutRequest.objects.exclude(status=PayoutStatus.REQUESTED)
        .select_related("teacher", "decided_by")
        .order_by("-decided_at", "-id")[:20]
    )
    context = {
        "page": Paginator(queue, PAGE_SIZE).get_page(request.GET.get("page")),
        "total_tokens": totals["tokens"] or 0,
        "total_money": tokens_to_money(totals["tokens"] or 0),
        "decided": decided,
        "provider": payout_provider().name,
    }
    return render(request, "analytics/payouts.html", context)


def _selected_ids(request) -> list[int] | None:
    raw = [v.strip() for v in request.POST.getlist("ids")]
    if len(raw) > MAX_SELECTED or any(not REQUEST_ID.fullmatch(v) for v in raw):
        return None
    return sorted({int(v) for v in raw})


@role_required("staff")
@require_POST
def approve_payouts(request):
    """Without ``confirm``: show what will be paid. With it: approve each selected request."""
    ids = _selected_ids(request)
    if ids is None:
        return HttpResponseBadRequest(
            f"ids are request numbers (at most {MAX_SELECTED}).", content_type="text/plain; charset=utf-8"
        )
    selected = list(requested_queue().filter(pk__in=ids))
    if not selected:
        messages.info(request, "No requested payouts were selected.")
        return redirect("analytics:payout_queue")
    reference = request.POST.get("reference", "")[:100]
    if request.POST.get("confirm") != "1":
        tokens = sum(p.amount_tokens for p in selected)
        context = {
            "selected": selected,
            "total_tokens": tokens,
            "total_money": tokens_to_money(tokens),
            "reference": reference,
            "provider": payout_provider().name,
        }
        return render(request, "analytics/payouts_confirm.html", context)
    decisions = approve_many(selected, by=request.user, reference=reference)
    paid = [d for d in decisions if d.ok]
    if paid:
        messages.success(
            request,
            f"Paid {len(paid)} payout request(s), {sum(d.payout.amount_tokens for d in paid):,} tokens.",
        )
    for decision in decisions:
        if not decision.ok:
            messages.error(request, f"Not paid #{decision.payout.pk}: {decision.error}")
    return redirect("analytics:payout_queue")


@role_required("staff")
@require_POST
def reject_payout_view(request, pk: int):
    payout = get_object_or_404(PayoutRequest, pk=pk)
    try:
        reject_payout(payout, by=request.user, reason=request.POST.get("reason", ""))
    except TokenEconomyError as exc:
        messages.error(request, f"Not rejected #{payout.pk}: {exc}")
    else:
        messages.success(request, f"Rejected payout request #{payout.pk}; its tokens are available again.")
    return redirect("analytics:payout_queue")
