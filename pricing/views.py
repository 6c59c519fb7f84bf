"""Teacher portal pages: my courses with price advice, a course's demand and revenue curves with
the what-if slider, applying or dismissing advice, and earnings. htmx partials come from the same
views. Teachers open their own courses, staff every course; learners get 403."""

from __future__ import annotations

import uuid
from functools import cache

import numpy as np
import plotly.io as pio
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from pricing import selectors
from pricing.models import PriceRecommendation
from pricing.services.model_source import production_demand
from pricing.services.recommendations import (
    apply_recommendation,
    commission_rate,
    demand_curve,
    dismiss_recommendation,
    what_if,
)
from tokenecon.errors import TokenEconomyError
from tokenecon.models import Course
from tokenecon.permissions import role_required
from tokenecon.selectors import teacher_overview
from tokenecon.services.rates import tokens_to_money

PAGE_SIZE = 50
CURVE_POINTS = 61
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


def _visible_course(request, code: str) -> Course:
    # Another teacher's course is answered exactly like a missing one.
    return get_object_or_404(selectors.courses_visible_to(request.user), code=code)


class WhatIfForm(forms.Form):
    price = forms.IntegerField(min_value=settings.TOKEN_PRICE_MIN, max_value=settings.TOKEN_PRICE_MAX)


def slider_range(course: Course) -> tuple[int, int]:
    """Half to twice today's price, inside the platform's price bounds."""
    low = max(settings.TOKEN_PRICE_MIN, int(course.price_tokens * 0.5))
    high = min(settings.TOKEN_PRICE_MAX, int(np.ceil(course.price_tokens * 2.0)))
    return low, max(high, low + 1)


def _course_page(request, courses) -> dict:
    page = Paginator(courses.order_by("code"), PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = selectors.courses_with_advice(courses=courses.filter(pk__in=[c.pk for c in page]))
    return {
        "page": page,
        "course_count": page.paginator.count,
        "pending_count": sum(1 for c in page.object_list if c.advice is not None),
    }


@role_required("teacher")
def teacher_home(request):
    teacher = request.user.teacher
    context = teacher_overview(teacher=teacher)
    context.update(_course_page(request, selectors.courses_visible_to(request.user).filter(teacher=teacher)))
    return render(request, "pricing/teacher_home.html", context)


@role_required("staff")
def staff_courses(request):
    """Every course with its advice; staff apply selected advice in bulk or recompute it all."""
    context = _course_page(request, selectors.courses_visible_to(request.user))
    context["advice_task"] = request.session.get(ADVICE_TASK_KEY)
    return render(request, "pricing/staff_courses.html", context)


class BulkDecisionForm(forms.Form):
    recommendation = forms.TypedMultipleChoiceField(coerce=int, choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recommendation"].choices = [
            (str(pk), str(pk)) for pk in self.data.getlist("recommendation") if pk.isdigit()
        ]


@role_required("staff")
@require_POST
def apply_selected_recommendations(request):
    form = BulkDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Select at least one recommendation to apply.")
        return redirect("pricing:staff_courses")
    applied, refused = 0, []
    for recommendation in PriceRecommendation.objects.filter(
        pk__in=form.cleaned_data["recommendation"]
    ).select_related("course"):
        try:
            apply_recommendation(recommendation=recommendation, user=request.user)
        except TokenEconomyError as exc:
            refused.append(f"{recommendation.course.code}: {exc}")
        else:
            applied += 1
    messages.success(request, f"Applied {applied} recommendation(s).")
    for reason in refused[:10]:
        messages.error(request, reason)
    return redirect("pricing:staff_courses")


def _band(x, low, high, *, name: str, color: str) -> list[dict]:
    return [
        {"type": "scatter", "x": x, "y": high, "mode": "lines", "line": {"width": 0}, "hoverinfo": "skip",
         "showlegend": False},
        {"type": "scatter", "x": x, "y": low, "mode": "lines", "line": {"width": 0}, "fill": "tonexty",
         "fillcolor": color, "name": name, "hoverinfo": "skip"},
    ]  # fmt: skip


def _price_markers(*, current: int, recommended: int | None) -> tuple[list[dict], list[dict]]:
    """Dashed vertical lines at today's and the advised price, with their labels."""
    marks = [(current, f"now {current}", "#1d2433", "dash", "right")]
    if recommended is not None and recommended != current:
        marks.append((recommended, f"advised {recommended}", "#1a7f4b", "dot", "left"))
    shapes = [
        {"type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
         "line": {"color": color, "dash": dash}}
        for x, _, color, dash, _ in marks
    ]  # fmt: skip
    annotations = [
        {"x": x, "y": 1, "xref": "x", "yref": "paper", "text": text, "showarrow": False,
         "xanchor": anchor, "yanchor": "bottom"}
        for x, text, _, _, anchor in marks
    ]  # fmt: skip
    return shapes, annotations


@cache
def _white_template() -> dict:
    return pio.templates["plotly_white"].to_plotly_json()


def figure_html(data: list[dict], layout: dict) -> str:
    """A Plotly figure from plain dicts, for the local plotly.js.

    Not through graph_objects: validating every property and copying the template took about
    100 ms of a course page's 160 ms; these dicts are fixed here and need no validation.
    """
    figure = {"data": data, "layout": {"template": _white_template(), **layout}}
    return pio.to_html(figure, include_plotlyjs=False, full_html=False, config=PLOTLY_CONFIG, validate=False)


def curve_figures(curve, *, current: int, recommended: int | None) -> tuple[str, str]:
    """The demand and revenue curves over price with their 95% bands, as HTML for the local Plotly."""
    price = curve["price"].to_numpy()
    shapes, annotations = _price_markers(current=current, recommended=recommended)
    layout = {
        "margin": {"l": 55, "r": 20, "t": 40, "b": 45},
        "height": 320,
        "xaxis": {"title": {"text": "Price (tokens)"}},
        "legend": {"orientation": "h", "y": -0.25},
        "shapes": shapes,
        "annotations": annotations,
    }
    demand = [
        *_band(price, curve["enrollments_low"].to_numpy(), curve["enrollments_high"].to_numpy(),
               name="95% band", color="rgba(52,84,209,0.15)"),
        {"type": "scatter", "x": price, "y": curve["expected_enrollments"].to_numpy(),
         "name": "Expected enrollments", "line": {"color": "#3454d1"}},
    ]  # fmt: skip
    revenue = [
        *_band(price, curve["revenue_low"].to_numpy(), curve["revenue_high"].to_numpy(),
               name="95% band", color="rgba(26,127,75,0.15)"),
        {"type": "scatter", "x": price, "y": curve["expected_revenue"].to_numpy(), "name": "Gross revenue",
         "line": {"color": "#1a7f4b"}},
        {"type": "scatter", "x": price, "y": curve["teacher_earnings"].to_numpy(), "name": "Your earnings",
         "line": {"color": "#6b7385", "dash": "dot"}},
    ]  # fmt: skip
    return (
        figure_html(
            demand,
            {**layout, "title": {"text": "Demand: enrollments per 30 days"},
             "yaxis": {"title": {"text": "Enrollments"}}},
        ),
        figure_html(
            revenue,
            {**layout, "title": {"text": "Revenue: tokens per 30 days"},
             "yaxis": {"title": {"text": "Tokens"}}},
        ),
    )  # fmt: skip


def _what_if_numbers(course: Course, price: int, demand) -> dict:
    both = what_if(course=course, prices=[float(course.price_tokens), float(price)], demand=demand)
    now, then = both.iloc[0], both.iloc[1]

    def change_pct(new: float, old: float) -> float:
        return (new / old - 1) * 100 if old > 0 else 0.0

    return {
        "price": price,
        "enrollments": then["expected_enrollments"],
        "revenue": then["expected_revenue"],
        "earnings": then["teacher_earnings"],
        "earnings_money": tokens_to_money(int(round(then["teacher_earnings"]))),
        "elasticity": then["elasticity"],
        "enrollments_change_pct": change_pct(then["expected_enrollments"], now["expected_enrollments"]),
        "revenue_change_pct": change_pct(then["expected_revenue"], now["expected_revenue"]),
        "earnings_change": then["teacher_earnings"] - now["teacher_earnings"],
    }


@role_required("teacher", "staff")
@require_GET
def course_detail(request, code: str):
    course = _visible_course(request, code)
    advice = selectors.pending_recommendation(course=course)
    context = {
        "course": course,
        "advice": advice,
        "strategies": (advice.details.get("strategies", []) if advice else []),
        "history": selectors.price_history(course=course),
        "commission_pct": commission_rate() * 100,
        "model_error": None,
    }
    low, high = slider_range(course)
    context.update({"slider_min": low, "slider_max": high})
    try:
        demand = production_demand()
        grid = np.unique(
            np.round(
                np.concatenate(
                    [
                        np.linspace(low, high, CURVE_POINTS),
                        [course.price_tokens],
                        [advice.recommended_price_tokens] if advice else [],
                    ]
                )
            )
        )
        curve = demand_curve(course=course, prices=grid.tolist(), demand=demand)
        recommended = advice.recommended_price_tokens if advice else None
        context["demand_chart"], context["revenue_chart"] = curve_figures(
            curve, current=course.price_tokens, recommended=recommended
        )
        asked = WhatIfForm(request.GET)
        price = asked.cleaned_data["price"] if "price" in request.GET and asked.is_valid() else None
        context["slider_price"] = price or course.price_tokens
        context["what_if"] = _what_if_numbers(course, context["slider_price"], demand)
        context["model"] = demand
    except TokenEconomyError as exc:  # no production model yet, or none that knows this course
        context["model_error"] = str(exc)
    return render(request, "pricing/course_detail.html", context)


@role_required("teacher", "staff")
@require_GET
def course_what_if(request, code: str):
    course = _visible_course(request, code)
    if not request.htmx:
        # Without htmx the whole course page answers, with the slider at the asked price.
        query = request.GET.urlencode()
        return redirect(reverse("pricing:course_detail", args=[course.code]) + (f"?{query}" if query else ""))
    form = WhatIfForm(request.GET)
    if not form.is_valid():
        return render(request, "pricing/partials/what_if.html", {"course": course, "form": form}, status=400)
    try:
        numbers = _what_if_numbers(course, form.cleaned_data["price"], production_demand())
    except TokenEconomyError as exc:
        return render(
            request, "pricing/partials/what_if.html", {"course": course, "model_error": str(exc)}, status=503
        )
    return render(request, "pricing/partials/what_if.html", {"course": course, "what_if": numbers})


class DecisionForm(forms.Form):
    recommendation = forms.IntegerField(min_value=1)


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
    url = reverse("pricing:course_detail", args=[course.code])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


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


ADVICE_TASK_KEY = "pricing_advice_task"


@role_required("staff")
@require_POST
def compute_recommendations_now(request):
    from pricing.tasks import compute_price_recommendations

    # The id is chosen here so the page can follow the task before the worker has picked it up.
    task_id = str(uuid.uuid4())
    transaction.on_commit(lambda: compute_price_recommendations.apply_async(task_id=task_id))
    request.session[ADVICE_TASK_KEY] = task_id
    return redirect("pricing:staff_courses")


TASK_STEPS = {"PENDING": ("queued", 10), "STARTED": ("running", 50), "RETRY": ("retrying", 50)}


@role_required("staff")
@require_GET
def advice_task_status(request, task_id: uuid.UUID):
    """The recompute task's state for the courses page, polled by htmx until it has finished."""
    from celery.result import AsyncResult

    result = AsyncResult(str(task_id))
    state = result.state
    finished = state not in TASK_STEPS
    label, percent = TASK_STEPS.get(state, ("finished", 100))
    context = {
        "task_id": task_id,
        "state": state,
        "label": label,
        "percent": percent,
        "finished": finished,
        "stored": result.result if state == "SUCCESS" else None,
        "error": str(result.result) if state == "FAILURE" else "",
    }
    if finished and request.session.get(ADVICE_TASK_KEY) == str(task_id):
        del request.session[ADVICE_TASK_KEY]
    return render(request, "pricing/partials/advice_task.html", context)


def earnings_figure(weekly) -> str:
    weeks = [str(w) for w in weekly["week"]]
    data = [
        {"type": "scatter", "x": weeks, "y": weekly["cumulative_earned_tokens"].to_numpy(),
         "name": "Cumulative earnings", "mode": "lines+markers", "line": {"color": "#3454d1"}},
        {"type": "bar", "x": weeks, "y": weekly["paid_out_tokens"].to_numpy(), "name": "Paid out that week",
         "marker": {"color": "rgba(26,127,75,0.5)"}},
    ]  # fmt: skip
    layout = {
        "title": {"text": "Earnings by week (tokens)"},
        "margin": {"l": 55, "r": 20, "t": 40, "b": 45},
        "height": 340,
        "legend": {"orientation": "h", "y": -0.2},
    }
    return figure_html(data, layout)


@role_required("teacher")
def earnings(request):
    user = request.user
    weekly = selectors.teacher_earnings_by_week(user=user)
    payouts = Paginator(selectors.payouts_of_user(user), PAGE_SIZE).get_page(request.GET.get("page"))
    overview = teacher_overview(teacher=user.teacher)
    total_earned = int(weekly["earned_tokens"].sum()) if not weekly.empty else 0
    total_paid = int(weekly["paid_out_tokens"].sum()) if not weekly.empty else 0
    context = {
        **overview,
        "payouts": payouts,
        "total_earned": total_earned,
        "total_paid": total_paid,
        "chart": earnings_figure(weekly) if not weekly.empty else None,
    }
    return render(request, "pricing/earnings.html", context)
