"""The data-quality page of the admin dashboard."""

from django.shortcuts import render

from analytics.data_quality import assess_data_quality
from tokenecon.permissions import role_required


@role_required("staff")
def data_quality(request):
    report = assess_data_quality()
    price = report.distributions["price_tokens"]
    peak = max(price["histogram"].values(), default=0) or 1
    histogram = [(label, count, round(100 * count / peak)) for label, count in price["histogram"].items()]
    return render(
        request,
        "analytics/data_quality.html",
        {"report": report, "categories": report.by_category(), "histogram": histogram},
    )
