"""Learner portal pages for buying tokens: a pack's confirmation (tokens, price, currency) that
creates an order, the demo provider's card form or the redirect to Stripe Checkout, and the
order's result ("Paid: 1,200 tokens added", "Declined: ..., nothing was charged").

Every order page is the signed-in learner's own: someone else's order is a 404. The rules
(caps, crediting once, what a webhook may do) are ``tokenecon.services.payments``'."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from learners.forms import new_form_token
from learners.forms_payments import BuyPackForm, CardForm
from tokenecon.errors import IdempotencyConflict, TokenEconomyError
from tokenecon.htmx import redirect_page
from tokenecon.models import AccountKind, Learner, OrderStatus, TopUpOrder
from tokenecon.payments import get_provider
from tokenecon.permissions import role_required
from tokenecon.selectors import balance_of_user
from tokenecon.services.payments import (
    TokenPack,
    cancel_order,
    create_top_up_order,
    pack_by_code,
    pay_order_with_card,
    start_checkout,
)


def _learner(request: HttpRequest) -> Learner:
    return request.user.learner


def _safe_next(request: HttpRequest, url: str | None) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return ""


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _own_order(request: HttpRequest, pk: int) -> TopUpOrder:
    return get_object_or_404(TopUpOrder, pk=pk, learner=_learner(request))


def _pack_or_404(code: str) -> TokenPack:
    try:
        return pack_by_code(code)
    except TokenEconomyError:
        raise Http404("No such token pack.") from None


def _render_confirm(request, pack: TokenPack, form: BuyPackForm, *, error: str = "", status: int = 200):
    balance = balance_of_user(request.user, AccountKind.LEARNER_WALLET)
    provider = get_provider()
    context = {
        "section": "wallet",
        "pack": pack,
        "form": form,
        "error": error,
        "balance_tokens": balance,
        "balance_after": balance + pack.tokens,
        "hosted": provider.hosted,
        "provider_name": provider.name,
    }
    return render(request, "learners/buy_pack.html", context, status=status)


@role_required("learner")
@require_http_methods(["GET", "POST"])
def buy_pack(request, pack: str):
    """GET: the confirmation (tokens, price, currency). POST: an order, then its payment."""
    token_pack = _pack_or_404(pack)
    if request.method == "GET":
        form = BuyPackForm(
            initial={"form_token": new_form_token(), "next": _safe_next(request, request.GET.get("next"))}
        )
        return _render_confirm(request, token_pack, form)
    form = BuyPackForm(request.POST)
    if not form.is_valid():
        fresh = BuyPackForm(initial={"form_token": new_form_token()})
        error = "This order form is incomplete or expired; confirm again below."
        return _render_confirm(request, token_pack, fresh, error=error, status=400)
    next_url = _safe_next(request, form.cleaned_data.get("next"))
    try:
        order = create_top_up_order(
            learner=_learner(request), pack_code=token_pack.code, client_key=form.cleaned_data["form_token"]
        )
    except IdempotencyConflict as exc:
        fresh = BuyPackForm(initial={"form_token": new_form_token(), "next": next_url})
        return _render_confirm(request, token_pack, fresh, error=str(exc), status=exc.status_code)
    except TokenEconomyError as exc:
        return _render_confirm(request, token_pack, form, error=str(exc), status=exc.status_code)
    if order.status != OrderStatus.PENDING:
        # A second submit of a confirmation whose order is decided: show how it ended.
        return redirect_page(request, _with_next(reverse("learners:order_detail", args=[order.pk]), next_url))
    result_url = request.build_absolute_uri(
        _with_next(reverse("learners:order_detail", args=[order.pk]), next_url)
    )
    try:
        checkout = start_checkout(order=order, success_url=result_url, cancel_url=result_url)
    except TokenEconomyError as exc:
        messages.error(request, str(exc))
        return redirect_page(request, _with_next(reverse("learners:order_detail", args=[order.pk]), next_url))
    if checkout.redirect_url:
        return redirect_page(request, checkout.redirect_url)
    return redirect_page(request, _with_next(reverse("learners:pay_order", args=[order.pk]), next_url))


@role_required("learner")
@require_http_methods(["GET", "POST"])
def pay_order(request, pk: int):
    """The demo provider's card form for a pending order of the learner's own."""
    order = _own_order(request, pk)
    if get_provider(order.provider).hosted:
        raise Http404("This order is paid on the provider's page.")
    detail_url = reverse("learners:order_detail", args=[order.pk])
    if request.method == "GET":
        next_url = _safe_next(request, request.GET.get("next"))
        if order.status != OrderStatus.PENDING:
            return redirect(_with_next(detail_url, next_url))
        form = CardForm(initial={"next": next_url})
        return render(request, "learners/pay_order.html", {"section": "wallet", "order": order, "form": form})
    form = CardForm(request.POST)
    if not form.is_valid():
        context = {"section": "wallet", "order": order, "form": form}
        return render(request, "learners/pay_order.html", context, status=400)
    next_url = _safe_next(request, form.cleaned_data.get("next"))
    try:
        pay_order_with_card(order=order, card_number=form.cleaned_data["card_number"])
    except TokenEconomyError as exc:
        messages.error(request, str(exc))
    return redirect_page(request, _with_next(detail_url, next_url))


@role_required("learner")
@require_http_methods(["GET"])
def order_detail(request, pk: int):
    """How an order ended, or that it is awaiting the provider's word."""
    order = _own_order(request, pk)
    context = {
        "section": "wallet",
        "order": order,
        "balance_tokens": balance_of_user(request.user, AccountKind.LEARNER_WALLET),
        "next_url": _safe_next(request, request.GET.get("next")),
        "hosted": get_provider(order.provider).hosted,
        "currency": settings.TOKEN_CURRENCY,
    }
    return render(request, "learners/order_detail.html", context)


@role_required("learner")
@require_POST
def cancel_pending_order(request, pk: int) -> HttpResponse:
    """Give up on a pending order: nothing is credited and its tokens no longer count against
    the 24-hour cap. A decided order is left as it is."""
    order = cancel_order(order=_own_order(request, pk))
    if order.status == OrderStatus.CANCELED:
        messages.info(request, f"Order {order.pk} canceled; nothing was charged.")
    return redirect_page(request, reverse("learners:wallet"))
