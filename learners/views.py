"""Learner portal pages: overview, wallet with top-ups, catalog search, course pages with
enrolling (confirmed first, paid through the ledger), offers, recommendations and my courses.

Every page is for learners only and shows the signed-in learner's own data; someone else's
offer, or a course that is not on sale, is answered like a missing page (404). htmx partials come
from the same views; each page also works without htmx.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Avg, Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from learners.forms import CatalogFilterForm, EnrollForm, TopUpForm, new_form_token
from learners.models import Offer
from learners.services.offers import OfferNotUsable, best_offer_for, redeem_offer
from learners.services.recommendations import recommend_for
from tokenecon.errors import AlreadyEnrolled, IdempotencyConflict, InsufficientTokens, TokenEconomyError
from tokenecon.models import AccountKind, Course, CourseCategory, Enrollment, EnrollmentStatus, Learner
from tokenecon.permissions import role_required
from tokenecon.selectors import balance_of_user, catalog_courses, entries_of_user
from tokenecon.services.accounts import top_up_wallet
from tokenecon.services.enrollment import purchase_course
from tokenecon.services.rates import discounted_price_tokens, tokens_to_money

CATALOG_PAGE_SIZE = 20
WALLET_PAGE_SIZE = 25
MY_COURSES_PAGE_SIZE = 50
HOME_RECOMMENDATIONS = 4
RECOMMENDATIONS = 12
PAST_OFFERS_SHOWN = 50


# --- shared helpers ------------------------------------------------------------------------------


def _learner(request: HttpRequest) -> Learner:
    return request.user.learner


def _balance(learner: Learner) -> int:
    return balance_of_user(learner.user, AccountKind.LEARNER_WALLET)


def _usable_offers(learner: Learner) -> QuerySet[Offer]:
    return Offer.objects.filter(learner=learner, status=Offer.Status.SHOWN, expires_at__gt=timezone.now())


def _price_courses(courses: Iterable[Course], learner: Learner) -> list[Course]:
    """Attach the learner's price to each course: ``offer`` (their deepest usable discount on it,
    or None), ``my_price`` and ``owned``. Two queries whatever the number of courses; the same
    rule as ``best_offer_for``, which the purchase itself uses."""
    courses = list(courses)
    offers = list(_usable_offers(learner).order_by("-discount_pct", "pk"))
    owned = set(
        Enrollment.objects.filter(learner=learner, course__in=[c.pk for c in courses])
        .exclude(status=EnrollmentStatus.REFUNDED)
        .values_list("course_id", flat=True)
    )
    for course in courses:
        course.offer = next(
            (
                o
                for o in offers
                if o.course_id == course.pk or (o.course_id is None and o.category == course.category)
            ),
            None,
        )
        course.my_price = _price_with(course, course.offer)
        course.owned = course.pk in owned
    return courses


def _price_with(course: Course, offer: Offer | None) -> int:
    if offer is None:
        return course.price_tokens
    return discounted_price_tokens(list_price_tokens=course.price_tokens, discount_pct=offer.discount_pct)


def _with_ratings(courses: list[Course]) -> list[Course]:
    """Average rating and live enrollments for a page of courses, in one grouped query."""
    stats = {
        row["pk"]: row
        for row in Course.objects.filter(pk__in=[c.pk for c in courses])
        .annotate(
            rating_avg=Avg("enrollments__rating"),
            learner_count=Count("enrollments", filter=~Q(enrollments__status=EnrollmentStatus.REFUNDED)),
        )
        .values("pk", "rating_avg", "learner_count")
    }
    for course in courses:
        course.rating_avg = stats.get(course.pk, {}).get("rating_avg")
        course.learner_count = stats.get(course.pk, {}).get("learner_count", 0)
    return courses


def _expires_in(expires_at: datetime, now: datetime) -> str:
    left = expires_at - now
    if left.total_seconds() <= 0:
        return "expired"
    days = round(left.total_seconds() / 86400)
    if days >= 1:
        return f"expires in {days} day{'s' if days != 1 else ''}"
    hours = max(1, int(left.total_seconds() // 3600))
    return f"expires in {hours} hour{'s' if hours != 1 else ''}"


def _live_enrollment(learner: Learner, course: Course) -> Enrollment | None:
    return (
        Enrollment.objects.filter(learner=learner, course=course)
        .exclude(status=EnrollmentStatus.REFUNDED)
        .first()
    )


def _course_for_learner(learner: Learner, code: str) -> Course:
    """A published course, or one the learner has (a retired course stays visible to its learners)."""
    owned = Enrollment.objects.filter(learner=learner).values("course_id")
    visible = catalog_courses().filter(Q(status=Course.Status.PUBLISHED) | Q(pk__in=owned))
    return get_object_or_404(visible, code=code)


def _course_on_sale(code: str) -> Course:
    return get_object_or_404(catalog_courses().filter(status=Course.Status.PUBLISHED), code=code)


def _partial_wanted(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


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
    suggestions = recommend_for(learner, k=HOME_RECOMMENDATIONS)
    priced = _price_courses([s.course for s in suggestions], learner)
    enrollments = Enrollment.objects.filter(learner=learner).exclude(status=EnrollmentStatus.REFUNDED)
    context = {
        "section": "home",
        "learner": learner,
        "balance_tokens": balance,
        "balance_money": tokens_to_money(balance),
        "currency": settings.TOKEN_CURRENCY,
        "offer_count": _usable_offers(learner).count(),
        "course_count": enrollments.count(),
        "learning": enrollments.filter(status=EnrollmentStatus.ACTIVE).select_related("course")[:5],
        "suggestions": list(zip(suggestions, priced, strict=True)),
        "entries": entries_of_user(learner.user)[:5],
    }
    return render(request, "learners/learner_home.html", context)


# --- wallet --------------------------------------------------------------------------------------


def _wallet_context(request, learner: Learner, form: TopUpForm) -> dict:
    balance = _balance(learner)
    entries = Paginator(entries_of_user(learner.user), WALLET_PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "section": "wallet",
        "balance_tokens": balance,
        "balance_money": tokens_to_money(balance),
        "entries": entries,
        "form": form,
        "token_price": tokens_to_money(1),
        "currency": settings.TOKEN_CURRENCY,
    }


@role_required("learner")
@require_http_methods(["GET", "POST"])
def wallet(request):
    learner = _learner(request)
    if request.method == "POST":
        form = TopUpForm(request.POST)
        if form.is_valid():
            amount = form.cleaned_data["amount_tokens"]
            key = f"learner-{learner.pk}-top-up-{form.cleaned_data['form_token']}"
            try:
                top_up_wallet(learner=learner, amount_tokens=amount, idempotency_key=key)
            except IdempotencyConflict:
                form.add_error(None, "This form was already used for another amount; reload the page.")
            except TokenEconomyError as exc:
                form.add_error(None, str(exc))
            else:
                balance = _balance(learner)
                messages.success(request, f"Added {amount:,} tokens. Your balance is now {balance:,} tokens.")
                url = _safe_next(request, form.cleaned_data.get("next")) or reverse("learners:wallet")
                return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
        if _partial_wanted(request):
            # htmx swaps only 2xx answers, so the form with its errors comes back as 200.
            return render(request, "learners/partials/top_up_form.html", {"form": form})
        return render(request, "learners/wallet.html", _wallet_context(request, learner, form), status=400)
    initial = {"form_token": new_form_token(), "next": _safe_next(request, request.GET.get("next")) or ""}
    asked = request.GET.get("amount", "")
    if asked.isdigit() and 0 < int(asked) <= 100_000:
        initial["amount_tokens"] = int(asked)
    form = TopUpForm(initial=initial)
    return render(request, "learners/wallet.html", _wallet_context(request, learner, form))


# --- catalog -------------------------------------------------------------------------------------

SORT_ORDER = {
    "code": ("code",),
    "title": ("title", "code"),
    "price": ("price_tokens", "code"),
    "-price": ("-price_tokens", "code"),
    "newest": ("-launch_date", "code"),
}


def search_catalog(filters: dict) -> QuerySet[Course]:
    courses = catalog_courses().filter(status=Course.Status.PUBLISHED)
    if q := filters.get("q", "").strip():
        courses = courses.filter(Q(title__icontains=q) | Q(code__icontains=q) | Q(description__icontains=q))
    if "category" in filters:
        courses = courses.filter(category=filters["category"])
    if "level" in filters:
        courses = courses.filter(difficulty=filters["level"])
    if "price_min" in filters:
        courses = courses.filter(price_tokens__gte=filters["price_min"])
    if "price_max" in filters:
        courses = courses.filter(price_tokens__lte=filters["price_max"])
    return courses.order_by(*SORT_ORDER[filters.get("sort") or "code"])


@role_required("learner")
@require_GET
def catalog(request):
    learner = _learner(request)
    form = CatalogFilterForm(request.GET)
    page = Paginator(search_catalog(form.filters()), CATALOG_PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = _with_ratings(_price_courses(page.object_list, learner))
    context = {"section": "catalog", "form": form, "page": page}
    if _partial_wanted(request):
        response = render(request, "learners/partials/catalog_results.html", context)
    else:
        response = render(request, "learners/catalog.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- course page and enrolling -------------------------------------------------------------------


@role_required("learner")
@require_GET
def course_detail(request, code: str):
    learner = _learner(request)
    course = _with_ratings([_course_for_learner(learner, code)])[0]
    offer = best_offer_for(learner=learner, course=course)
    balance = _balance(learner)
    price = _price_with(course, offer)
    context = {
        "section": "catalog",
        "course": course,
        "offer": offer,
        "offer_expires_in": _expires_in(offer.expires_at, timezone.now()) if offer else "",
        "my_price": price,
        "balance_tokens": balance,
        "short_by": max(0, price - balance),
        "enrollment": _live_enrollment(learner, course),
        "on_sale": course.status == Course.Status.PUBLISHED,
    }
    return render(request, "learners/course_detail.html", context)


def _confirm_context(learner: Learner, course: Course, **extra) -> dict:
    offer = best_offer_for(learner=learner, course=course)
    price = _price_with(course, offer)
    balance = _balance(learner)
    form = EnrollForm(
        initial={"form_token": new_form_token(), "price_tokens": price, "offer": offer.pk if offer else None}
    )
    return {
        "section": "catalog",
        "course": course,
        "offer": offer,
        "my_price": price,
        "balance_tokens": balance,
        "balance_after": balance - price,
        "short_by": max(0, price - balance),
        "form": form,
        **extra,
    }


def _render_confirm(request, context: dict, status: int = 200) -> HttpResponse:
    if _partial_wanted(request):
        # htmx swaps only 2xx answers; the panel carries the error itself.
        return render(request, "learners/partials/enroll_panel.html", context)
    return render(request, "learners/enroll_confirm.html", context, status=status)


def _to_course(request, course: Course) -> HttpResponse:
    url = reverse("learners:course_detail", args=[course.code])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@role_required("learner")
@require_http_methods(["GET", "POST"])
def enroll(request, code: str):
    """GET: the confirmation (price, offer, balance after). POST: pay and enroll, once."""
    learner = _learner(request)
    course = _course_on_sale(code)
    if request.method == "GET":
        if _live_enrollment(learner, course) is not None:
            return _to_course(request, course)
        return _render_confirm(request, _confirm_context(learner, course))

    form = EnrollForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("This enrollment form is incomplete or expired; reload the page.")
    if form.cleaned_data["offer"] is not None:
        # Someone else's offer is answered like a missing one.
        get_object_or_404(Offer, pk=form.cleaned_data["offer"], learner=learner)
    if _live_enrollment(learner, course) is not None:
        # A second submit of the same confirmation (or another tab): nothing more is charged.
        messages.info(request, f"You are enrolled in {course.code} {course.title}.")
        return _to_course(request, course)

    offer = best_offer_for(learner=learner, course=course)
    price = _price_with(course, offer)
    confirmed = form.cleaned_data["price_tokens"]
    if price != confirmed:
        notice = f"The price changed from {confirmed} to {price} tokens since you opened this page."
        return _render_confirm(request, _confirm_context(learner, course, notice=notice), status=409)

    key = f"learner-{learner.pk}-enroll-{course.pk}-{form.cleaned_data['form_token']}"
    try:
        if offer is not None:
            redeem_offer(offer=offer, learner=learner, course=course, idempotency_key=key)
        else:
            purchase_course(learner=learner, course=course, idempotency_key=key)
    except InsufficientTokens as exc:
        context = _confirm_context(
            learner,
            course,
            shortfall={"needed": exc.needed_tokens, "available": exc.balance_tokens},
        )
        return _render_confirm(request, context, status=exc.status_code)
    except AlreadyEnrolled:
        messages.info(request, f"You are enrolled in {course.code} {course.title}.")
        return _to_course(request, course)
    except OfferNotUsable as exc:
        notice = f"{exc} Here is the price without it."
        return _render_confirm(request, _confirm_context(learner, course, notice=notice), status=409)
    except TokenEconomyError as exc:
        return _render_confirm(request, _confirm_context(learner, course, error=str(exc)), exc.status_code)

    saved = course.price_tokens - price
    messages.success(
        request,
        f"You are enrolled in {course.code} {course.title}. You paid {price:,} tokens"
        + (f" (saved {saved:,})" if saved else "")
        + f"; your balance is now {_balance(learner):,} tokens.",
    )
    return _to_course(request, course)


# --- offers, recommendations, my courses --------------------------------------------------------


@role_required("learner")
@require_GET
def offers(request):
    learner = _learner(request)
    now = timezone.now()
    all_offers = Offer.objects.filter(learner=learner).select_related("course")
    usable = list(all_offers.filter(status=Offer.Status.SHOWN, expires_at__gt=now).order_by("expires_at"))
    past = list(all_offers.exclude(pk__in=[o.pk for o in usable]).order_by("-expires_at")[:PAST_OFFERS_SHOWN])
    categories = dict(CourseCategory.choices)
    for offer in [*usable, *past]:
        offer.category_label = categories.get(offer.category, offer.category)
    for offer in usable:
        offer.expires_in = _expires_in(offer.expires_at, now)
        if offer.course is not None:
            offer.my_price = _price_with(offer.course, offer)
    for offer in past:
        offer.state = "redeemed" if offer.status == Offer.Status.REDEEMED else "expired"
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
def recommendations(request):
    learner = _learner(request)
    suggestions = recommend_for(learner, k=RECOMMENDATIONS)
    priced = _with_ratings(_price_courses([s.course for s in suggestions], learner))
    context = {"section": "recommended", "suggestions": list(zip(suggestions, priced, strict=True))}
    return render(request, "learners/recommendations.html", context)


@role_required("learner")
@require_GET
def my_courses(request):
    learner = _learner(request)
    enrollments = Enrollment.objects.filter(learner=learner).select_related("course__teacher")
    page = Paginator(enrollments, MY_COURSES_PAGE_SIZE).get_page(request.GET.get("page"))
    counts = enrollments.aggregate(
        live=Count("id", filter=~Q(status=EnrollmentStatus.REFUNDED)),
        completed=Count("id", filter=Q(status=EnrollmentStatus.COMPLETED)),
    )
    context = {"section": "my_courses", "page": page, **counts}
    return render(request, "learners/my_courses.html", context)
