"""The data-quality page of the admin dashboard: the latest stored run of the checks
(analytics/services/quality_cache.py), and a POST that runs them again."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from analytics.services.quality_cache import cached_quality, run_and_store
from tokenecon.permissions import role_required


def _band_label(label: str) -> str:
    """A stored price band ``"1000-1099"`` written with separators: ``1,000–1,099``."""
    low, _, high = label.partition("-")
    try:
        return f"{int(low):,}–{int(high):,}"
    except ValueError:
        return label


@role_required("staff")
def data_quality(request):
    cached = cached_quality()
    report = cached.report
    price = report.distributions["price_tokens"]
    peak = max(price["histogram"].values(), default=0) or 1
    histogram = [
        (_band_label(label), count, round(100 * count / peak)) for label, count in price["histogram"].items()
    ]
    return render(
        request,
        "analytics/data_quality.html",
        {"report": report, "cached": cached, "categories": report.by_category(), "histogram": histogram},
    )


@require_POST
@role_required("staff")
def rerun_data_quality(request):
    snapshot = run_and_store(user=request.user)
    messages.success(request, f"Checks run again in {snapshot.elapsed_s} s: score {snapshot.score:g} / 100.")
    return redirect("analytics:data_quality")
