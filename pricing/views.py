"""Teacher portal pages: my courses with price advice, a course's demand and revenue curves with
the what-if slider, applying or dismissing advice, and the staff's list with the
background recompute of the advice. htmx fragments come from the same views
(``tokenecon.htmx.render_page``). Teachers open their own courses, staff every course; learners
get 403."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from pricing import selectors
from pricing.charts import curve_figures
from pricing.forms import BulkDecisionForm, DecisionForm, OwnPriceForm, WhatIfForm
from pricing.forms_staff import StaffAdviceFilterForm
from pricing.models import AdviceRun, PriceRecommendation
from pricing.services.advice import commission_rate, start_advice_recompute
from pricing.services.forecasts import course_curve, price_range, what_if_at
from pricing.services.model_source import production_demand
from pricing.services.notices import mark_all_notices_read, mark_notice_read, unread_notices
from pricing.services.price_changes import (
    apply_recommendation,
    apply_recommendations,
    dismiss_recommendation,
    own_price_bounds,
    own_price_refusal,
    set_own_price,
    undo_own_price,
    undoable_change,
)
from pricing.services.staleness import advice_freshness, stale_price_moves_count
from tokenecon.errors import TokenEconomyError
from tokenecon.htmx import redirect_page, render_page, wants_fragment
from tokenecon.models import Course
from tokenecon.permissions import role_required
from tokenecon.selectors import teacher_overview

PAGE_SIZE = 50
REFUSALS_SHOWN = 10
NOTICES_SHOWN = 20


def _visible_course(request, code: str) -> Course:
    # Another teacher's course is answered exactly like a missing one.
    return get_object_or_404(selectors.courses_visible_to(request.user), code=code)


def _course_page(request, courses) -> dict:
    page = Paginator(courses.order_by("code"), PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = selectors.courses_with_advice(courses=courses.filter(pk__in=[c.pk for c in page]))
    freshness = advice_freshness()
    freshness.mark(page.object_list)
    # Stale advice cannot be applied, so it is not counted as advised; the page says how much there is.
    stale_count = stale_price_moves_count(courses=courses, freshness=freshness)
    return {
        "page": page,
        "course_count": page.paginator.count,
        "pending_count": selectors.pending_price_moves_count(courses=courses) - stale_count,
        "stale_count": stale_count,
        "freshness": freshness,
        "stale_shown": sum(course.advice_stale for course in page.object_list),
    }


@role_required("teacher")
def teacher_home(request):
    teacher = request.user.teacher
    context = teacher_overview(teacher=teacher)
    context.update(_course_page(request, selectors.courses_visible_to(request.user).filter(teacher=teacher)))
    context["notices"] = list(unread_notices(request.user)[:NOTICES_SHOWN])
    context["notice_count"] = unread_notices(request.user).count()
    return render(request, "pricing/teacher_home.html", context)


@role_required("teacher")
@require_POST
def notice_read(request, pk: int):
    """Mark one of the teacher's notices as read; another teacher's notice is a 404."""
    try:
        mark_notice_read(user=request.user, notice_id=pk)
    except TokenEconomyError as exc:
        raise Http404(str(exc)) from exc
    return redirect_page(request, reverse("pricing:teacher_home"))


@role_required("teacher")
@require_POST
def notices_read_all(request):
    count = mark_all_notices_read(user=request.user)
    messages.success(request, f"Marked {count} notice{'s' if count != 1 else ''} as read.")
    return redirect_page(request, reverse("pricing:teacher_home"))


@role_required("staff")
def staff_courses(request):
    """Every course with its advice, narrowed by the filters (kept in the pager and the CSV link);
    staff apply selected advice in bulk or recompute it all."""
    everything = selectors.courses_visible_to(request.user)
    filters = StaffAdviceFilterForm(request.GET)
    context = _course_page(request, filters.filter(everything))
    context.update(
        advice_run=context["freshness"].recompute,
        filters=filters,
        shown_count=context["course_count"],
        course_count=everything.count(),
    )
    return render(request, "pricing/staff_courses.html", context)


@role_required("staff")
@require_POST
def apply_selected_recommendations(request):
    staff_list = reverse("pricing:staff_courses")
    form = BulkDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Select at least one recommendation to apply.")
        return redirect_page(request, staff_list)
    ids = form.cleaned_data["recommendation"]
    if not form.cleaned_data["confirm"]:
        changes = selectors.recommendations_to_confirm(ids=ids)
        freshness = advice_freshness()
        for change in changes:
            change.stale_reason = freshness.stale_reason(change)
        context = {"changes": changes, "ids": ids}
        return render(request, "pricing/apply_confirm.html", context)
    decisions = apply_recommendations(ids=ids, user=request.user)
    messages.success(request, f"Applied {sum(d.done for d in decisions)} recommendation(s).")
    for decision in [d for d in decisions if not d.done][:REFUSALS_SHOWN]:
        messages.error(request, f"{decision.subject}: {decision.refusal}")
    return redirect_page(request, staff_list)


def _own_price_context(request, course: Course, form: OwnPriceForm | None = None) -> dict:
    """The teacher's own-price form, today's guardrails and the undo of their last change (only
    for the course's own teacher; staff decide through advice)."""
    if course.teacher.user_id != request.user.pk:
        return {"is_owner": False}
    undo, undo_refusal = undoable_change(course, request.user)
    return {
        "is_owner": True,
        "own_price_form": form or OwnPriceForm(initial={"price": course.price_tokens}),
        "own_bounds": own_price_bounds(course),
        "undo_change": undo,
        "undo_refusal": undo_refusal,
        "undo_hours": settings.PRICE_UNDO_HOURS,
    }


def _course_page_context(course: Course, *, asked_price: int | None, request=None) -> dict:
    """The course page: advice, history, the curves and the slider at ``asked_price`` (today's
    price when None); without a production model that knows the course, ``model_error`` says so."""
    advice = selectors.pending_recommendation(course=course)
    low, high = price_range(course)
    freshness = advice_freshness()
    context = {
        "course": course,
        "advice": advice,
        "advice_stale": freshness.is_stale(advice),
        "advice_stale_reason": freshness.stale_reason(advice),
        "advice_run": freshness.recompute,
        "strategies": (advice.details.get("strategies", []) if advice else []),
        "history": selectors.price_history(course=course),
        "commission_pct": commission_rate() * 100,
        "model_error": None,
        "slider_min": low,
        "slider_max": high,
    }
    recommended = advice.recommended_price_tokens if advice else None
    try:
        demand = production_demand()
        curve = course_curve(course=course, recommended_price=recommended, demand=demand)
        context["slider_price"] = asked_price or course.price_tokens
        context["demand_chart"], context["revenue_chart"] = curve_figures(
            curve, current=course.price_tokens, recommended=recommended, chosen=context["slider_price"]
        )
        context["what_if"] = what_if_at(course=course, price=context["slider_price"], demand=demand)
        context["model"] = demand
    except TokenEconomyError as exc:  # no production model yet, or none that knows this course
        context["model_error"] = str(exc)
    if request is not None:
        context.update(_own_price_context(request, course))
    return context


@role_required("teacher", "staff")
@require_GET
def course_detail(request, code: str):
    course = _visible_course(request, code)
    asked = WhatIfForm(request.GET)
    price = asked.cleaned_data["price"] if "price" in request.GET and asked.is_valid() else None
    context = _course_page_context(course, asked_price=price, request=request)
    return render(request, "pricing/course_detail.html", context)


@role_required("teacher", "staff")
@require_GET
def course_what_if(request, code: str):
    """The slider's figures at one price: the what-if fragment for htmx, otherwise the whole
    course page with the slider at that price."""
    course = _visible_course(request, code)
    form = WhatIfForm(request.GET)
    valid = form.is_valid()
    price = form.cleaned_data["price"] if valid else None
    status = 200 if valid else 400
    if wants_fragment(request):
        # The slider asks on every move: only its figures, not the page's curves.
        context = {"course": course, "form": form, "is_owner": course.teacher.user_id == request.user.pk}
        if valid:
            try:
                context["what_if"] = what_if_at(course=course, price=price)
            except TokenEconomyError as exc:
                context["model_error"] = str(exc)
                status = 503
    else:
        context = _course_page_context(course, asked_price=price, request=request)
        if not valid:
            context.update(form=form, what_if=None)  # the what-if box shows the form's error
    return render_page(
        request,
        "pricing/course_detail.html",
        context,
        fragment="pricing/partials/what_if.html",
        status=status,
    )


def _decide(request, code: str, decide, done: str) -> HttpResponse:
    course = _visible_course(request, code)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Say which recommendation: a whole number.")
    recommendation = get_object_or_404(
        PriceRecommendation, pk=form.cleaned_data["recommendation"], course=course
    )
    try:
        decide(recommendation=recommendation, user=request.user)
    except TokenEconomyError as exc:
        messages.error(request, str(exc))
    else:
        course.refresh_from_db(fields=["price_tokens"])
        messages.success(request, done.format(course=course, recommendation=recommendation))
    return redirect_page(request, reverse("pricing:course_detail", args=[course.code]))


@role_required("teacher", "staff")
@require_POST
def apply_course_recommendation(request, code: str):
    return _decide(
        request, code, apply_recommendation, "{course.code} now costs {course.price_tokens} tokens."
    )


@role_required("teacher", "staff")
@require_POST
def dismiss_course_recommendation(request, code: str):
    return _decide(request, code, dismiss_recommendation, "Advice dismissed; {course.code} keeps its price.")


@role_required("staff")
@require_POST
def compute_recommendations_now(request):
    start_advice_recompute(user=request.user)
    return redirect_page(request, reverse("pricing:staff_courses"))


@role_required("staff")
@require_GET
def advice_run_status(request, run_id: int):
    """An advice recompute's progress; the fragment polls itself (every second) until it has finished."""
    run = get_object_or_404(AdviceRun, pk=run_id)
    return render_page(
        request, "pricing/advice_run.html", {"run": run}, fragment="pricing/partials/advice_run.html"
    )


def _own_course(request, code: str) -> Course:
    # Only the teacher's own courses; another teacher's is answered like a missing one.
    return get_object_or_404(Course.objects.select_related("teacher"), code=code, teacher__user=request.user)


@role_required("teacher")
@require_POST
def course_set_price(request, code: str):
    """A teacher sets their own price (typed, or the slider's): first a page confirming old → new,
    then the change; a price outside today's guardrails is a form error naming the guardrail."""
    course = _own_course(request, code)
    form = OwnPriceForm(request.POST)
    refusal = ""
    if form.is_valid():
        price = form.cleaned_data["price"]
        refusal = own_price_refusal(course, price)
        if refusal:
            form.add_error("price", refusal)
    if not form.is_valid():
        context = _course_page_context(course, asked_price=None, request=request)
        context["own_price_form"] = form
        return render(request, "pricing/course_detail.html", context, status=400)
    if not form.cleaned_data["confirm"]:
        context = {
            "course": course,
            "new_price": price,
            "from_slider": form.cleaned_data["from_slider"],
            "undo_hours": settings.PRICE_UNDO_HOURS,
        }
        return render(request, "pricing/own_price_confirm.html", context)
    old = course.price_tokens
    try:
        set_own_price(
            course=course,
            new_price_tokens=price,
            user=request.user,
            from_slider=form.cleaned_data["from_slider"],
        )
    except TokenEconomyError as exc:  # the price moved since the confirmation page, say
        form.add_error("price", str(exc))
        context = _course_page_context(course, asked_price=None, request=request)
        context["own_price_form"] = form
        return render(request, "pricing/course_detail.html", context, status=400)
    messages.success(
        request,
        f"{course.code} now costs {price} tokens (was {old}). You can undo this for "
        f"{settings.PRICE_UNDO_HOURS} hours, until a learner buys at the new price.",
    )
    return redirect_page(request, reverse("pricing:course_detail", args=[course.code]))


@role_required("teacher")
@require_POST
def course_undo_price(request, code: str):
    """Undo the teacher's last own change of the course (recorded as a price change too)."""
    course = _own_course(request, code)
    try:
        change = undo_own_price(course=course, user=request.user)
    except TokenEconomyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Undone: {course.code} costs {change.new_price_tokens} tokens again "
            f"(was {change.old_price_tokens}).",
        )
    return redirect_page(request, reverse("pricing:course_detail", args=[course.code]))
