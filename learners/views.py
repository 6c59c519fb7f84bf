"""Learner portal pages: overview, wallet with top-ups, catalog search, course pages with
enrolling (confirmed first, paid through the ledger), offers, course suggestions and my courses.

Every page is for learners only and shows the signed-in learner's own data; someone else's
offer, or a course that is not on sale, is answered like a missing page (404). htmx fragments
come from the same views (``tokenecon.htmx``); each page also works without htmx.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from learners.forms import CatalogFilterForm, new_form_token
from learners.models import Offer
from learners.selectors import (
    best_offer_for,
    courses_on_sale,
    courses_visible_to_learner,
    enrollments_of_learner,
    live_enrollment,
    live_enrollments,
    offers_of_learner,
    price_choice,
    price_with_offer,
    priced_courses,
    usable_offers,
    with_ratings,
)
from learners.services.enrolling import PriceChanged, enroll_learner
from learners.services.offers import OfferNotUsable
from learners.services.suggestions import suggest_courses
from learners.views_coupons import CouponCodeForm, CouponEnrollForm
from tokenecon.errors import (
    AlreadyEnrolled,
    CouponRefused,
    InsufficientTokens,
    TokenEconomyError,
)
from tokenecon.htmx import redirect_page, render_page
from tokenecon.models import AccountKind, Course, EnrollmentStatus, Learner
from tokenecon.permissions import role_required
from tokenecon.selectors import balance_of_user, entries_of_user, search_courses
from tokenecon.services.payments import smallest_pack_covering, token_packs
from tokenecon.services.rates import tokens_to_money

CATALOG_PAGE_SIZE = 20
WALLET_PAGE_SIZE = 25
MY_COURSES_PAGE_SIZE = 50
HOME_SUGGESTIONS = 4
SUGGESTIONS = 12
PAST_OFFERS_SHOWN = 50


def _learner(request: HttpRequest) -> Learner:
    return request.user.learner


def _balance(learner: Learner) -> int:
    return balance_of_user(learner.user, AccountKind.LEARNER_WALLET)


def _safe_next(request: HttpRequest, url: str | None) -> str | None:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return None


# --- overview ------------------------------------------------------------------------------------


@role_required("learner")
@require_GET
def learner_home(request):
    learner = _learner(request)
    balance = _balance(learner)
    suggestions = suggest_courses(learner=learner, k=HOME_SUGGESTIONS)
    priced = priced_courses(learner=learner, courses=[s.course for s in suggestions])
    enrollments = live_enrollments(learner=learner)
    context = {
        "section": "home",
        "learner": learner,
        "balance_tokens": balance,
        "balance_money": tokens_to_money(balance),
        "currency": settings.TOKEN_CURRENCY,
        "offer_count": usable_offers(learner=learner).count(),
        "course_count": enrollments.count(),
        "learning": enrollments.filter(status=EnrollmentStatus.ACTIVE).select_related("course")[:5],
        "suggestions": list(zip(suggestions, priced, strict=True)),
        "entries": entries_of_user(learner.user)[:5],
    }
    return render(request, "learners/learner_home.html", context)


# --- wallet --------------------------------------------------------------------------------------


WALLET_ORDERS_SHOWN = 5


@role_required("learner")
@require_GET
def wallet(request):
    """Balance, the token packs on sale (each opens its confirmation, ``views_payments``), the
    learner's latest orders and the history. ``?amount=N`` (a course's shortfall link) points at
    the cheapest pack that covers N; ``?next=`` is carried to the order's result page."""
    learner = _learner(request)
    balance = _balance(learner)
    entries = Paginator(entries_of_user(learner.user), WALLET_PAGE_SIZE).get_page(request.GET.get("page"))
    asked = request.GET.get("amount", "")
    needed = int(asked) if asked.isascii() and asked.isdigit() and 0 < int(asked) <= 10**9 else None
    context = {
        "section": "wallet",
        "balance_tokens": balance,
        "balance_money": tokens_to_money(balance),
        "entries": entries,
        "packs": token_packs(),
        "needed_tokens": needed,
        "suggested_pack": smallest_pack_covering(needed) if needed else None,
        "next_url": _safe_next(request, request.GET.get("next")) or "",
        "orders": learner.top_up_orders.all()[:WALLET_ORDERS_SHOWN],
        "token_price": tokens_to_money(1),
        "currency": settings.TOKEN_CURRENCY,
    }
    return render(request, "learners/wallet.html", context)


# --- catalog -------------------------------------------------------------------------------------


@role_required("learner")
@require_GET
def catalog(request):
    form = CatalogFilterForm(request.GET)
    courses = search_courses(courses=courses_on_sale(), **form.filters())
    page = Paginator(courses, CATALOG_PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = with_ratings(priced_courses(learner=_learner(request), courses=page.object_list))
    context = {"section": "catalog", "form": form, "page": page}
    return render_page(
        request, "learners/catalog.html", context, fragment="learners/partials/catalog_results.html"
    )


# --- course page and enrolling -------------------------------------------------------------------


@role_required("learner")
@require_GET
def course_detail(request, code: str):
    learner = _learner(request)
    course = with_ratings([get_object_or_404(courses_visible_to_learner(learner=learner), code=code)])[0]
    offer = best_offer_for(learner=learner, course=course)
    balance = _balance(learner)
    price = price_with_offer(course=course, offer=offer)
    context = {
        "section": "catalog",
        "course": course,
        "offer": offer,
        "my_price": price,
        "balance_tokens": balance,
        "short_by": max(0, price - balance),
        "enrollment": live_enrollment(learner=learner, course=course),
        "on_sale": course.status == Course.Status.PUBLISHED,
        "coupon_form": CouponCodeForm(),
    }
    return render(request, "learners/course_detail.html", context)


def _render_confirm(
    request, learner: Learner, course: Course, *, status: int = 200, coupon_code: str = "", **extra
) -> HttpResponse:
    """The confirmation (price with the coupon or offer applied, balance after) with a fresh form,
    and any notice or error; htmx swaps only 2xx answers, so the panel comes back as 200 and
    carries the error itself."""
    choice = price_choice(learner=learner, course=course, code=coupon_code)
    offer, price = choice.applied_offer, choice.price
    balance = _balance(learner)
    form = CouponEnrollForm(
        initial={
            "form_token": new_form_token(),
            "price_tokens": price,
            "offer": offer.pk if offer else None,
            "coupon": choice.applied_code,
        }
    )
    context = {
        "section": "catalog",
        "course": course,
        "choice": choice,
        "offer": offer,
        "my_price": price,
        "balance_tokens": balance,
        "balance_after": balance - price,
        "short_by": max(0, price - balance),
        "form": form,
        **extra,
    }
    return render_page(
        request,
        "learners/enroll_confirm.html",
        context,
        fragment="learners/partials/enroll_panel.html",
        status=status,
        fragment_status=200,
    )


def _to_course(request, course: Course) -> HttpResponse:
    return redirect_page(request, reverse("learners:course_detail", args=[course.code]))


@role_required("learner")
@require_http_methods(["GET", "POST"])
def enroll(request, code: str):
    """GET: the confirmation (price, offer, balance after). POST: pay and enroll, once."""
    learner = _learner(request)
    course = get_object_or_404(courses_on_sale(), code=code)
    if request.method == "GET":
        if live_enrollment(learner=learner, course=course) is not None:
            return _to_course(request, course)
        return _render_confirm(request, learner, course, coupon_code=request.GET.get("coupon", "")[:64])

    form = CouponEnrollForm(request.POST)
    if not form.is_valid():
        # A tampered or stale form: a fresh confirmation with the reason, nothing charged.
        return _render_confirm(
            request,
            learner,
            course,
            status=400,
            error="This enrollment form is incomplete or expired; confirm again below.",
        )
    if form.cleaned_data["offer"] is not None:
        # Someone else's offer is answered like a missing one.
        get_object_or_404(Offer, pk=form.cleaned_data["offer"], learner=learner)
    try:
        enrollment = enroll_learner(
            learner=learner,
            course=course,
            confirmed_price_tokens=form.cleaned_data["price_tokens"],
            form_token=form.cleaned_data["form_token"],
            coupon_code=form.cleaned_data["coupon"],
        )
    except AlreadyEnrolled:
        messages.info(request, f"You are enrolled in {course.code} {course.title}.")
        return _to_course(request, course)
    except PriceChanged as exc:
        code = form.cleaned_data["coupon"]
        return _render_confirm(
            request, learner, course, status=exc.status_code, notice=str(exc), coupon_code=code
        )
    except InsufficientTokens as exc:
        shortfall = {"needed": exc.needed_tokens, "available": exc.balance_tokens}
        return _render_confirm(request, learner, course, status=exc.status_code, shortfall=shortfall)
    except CouponRefused as exc:
        notice = f"{exc} Nothing was charged; here is the price without the code."
        return _render_confirm(request, learner, course, status=exc.status_code, notice=notice)
    except OfferNotUsable as exc:
        notice = f"{exc} Here is the price without it."
        return _render_confirm(request, learner, course, status=exc.status_code, notice=notice)
    except TokenEconomyError as exc:
        return _render_confirm(request, learner, course, status=exc.status_code, error=str(exc))

    paid = enrollment.price_paid_tokens
    saved = enrollment.list_price_tokens - paid
    messages.success(
        request,
        f"You are enrolled in {course.code} {course.title}. You paid {paid:,} tokens"
        + (f" (saved {saved:,})" if saved else "")
        + f"; your balance is now {_balance(learner):,} tokens.",
    )
    return _to_course(request, course)


# --- offers, suggestions, my courses ------------------------------------------------------------


@role_required("learner")
@require_GET
def offers(request):
    usable, past = offers_of_learner(learner=_learner(request), past_limit=PAST_OFFERS_SHOWN)
    context = {"section": "offers", "usable": usable, "past": past}
    return render(request, "learners/offers.html", context)


@role_required("learner")
@require_GET
def use_offer(request, pk: int):
    """Open what an offer is for: its course, or the catalog filtered to its category."""
    offer = get_object_or_404(Offer.objects.select_related("course"), pk=pk, learner=_learner(request))
    if offer.course is not None:
        return redirect("learners:course_detail", code=offer.course.code)
    return redirect(f"{reverse('learners:catalog')}?category={offer.category}")


@role_required("learner")
@require_GET
def suggestions(request):
    learner = _learner(request)
    suggested = suggest_courses(learner=learner, k=SUGGESTIONS)
    priced = with_ratings(priced_courses(learner=learner, courses=[s.course for s in suggested]))
    context = {"section": "recommended", "suggestions": list(zip(suggested, priced, strict=True))}
    return render(request, "learners/recommendations.html", context)


@role_required("learner")
@require_GET
def my_courses(request):
    enrollments, counts = enrollments_of_learner(learner=_learner(request))
    page = Paginator(enrollments, MY_COURSES_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"section": "my_courses", "page": page, **counts}
    return render(request, "learners/my_courses.html", context)
