"""Price recommendations against the simulator's true demand curves, and optimiser speed.

    .venv/bin/python manage.py simulate --flush --seed 42 && .venv/bin/python manage.py train --sync
    .venv/bin/python bench/bench_pricing.py          # uses db.sqlite3 (or DATABASE_URL)

Prints, under the true curves: the share of the true optimal revenue that the recommended prices
earn (median over courses and summed over the catalog) with guardrails off, the lift over current
prices, the same with guardrails on plus a check that every recommendation respects them, the
whole-catalog batch time and the median time of one course's optimisation.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokenecon.settings.base")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    import django

    django.setup()
    import numpy as np
    from django.conf import settings

    from pricing.ml.truth_scoring import revenue_capture
    from pricing.selectors import pricing_settings
    from pricing.services.advice import optimise_catalog
    from pricing.services.forecasts import optimise_course
    from pricing.services.model_source import production_demand
    from pricing.services.truth import load_demand_truth
    from tokenecon.models import Course

    truth = load_demand_truth()
    if truth is None:
        raise SystemExit("No simulator truth for this database: run `manage.py simulate` first.")
    demand = production_demand()
    print(f"production demand model: v{demand.version} ({demand.algorithm})")
    started = time.perf_counter()
    free = optimise_catalog(guardrails_on=False, demand=demand)
    free_s = time.perf_counter() - started
    capture = revenue_capture(
        truth.curves,
        free[["course_id", "current_price"]].assign(recommended_price=free["model_optimal_price"]),
    )
    print(f"guardrails off ({len(free)} courses, {free_s:.2f} s):")
    print(f"  median share of true optimal revenue: {capture['median_share_of_optimal']:.3f}")
    print(f"  catalog share of true optimal revenue: {capture['catalog_share_of_optimal']:.3f}")
    print(
        f"  current prices earn {capture['current_share_of_optimal']:.3f} of the optimum; "
        f"lift over current prices {capture['lift_over_current_pct']:+.1f}%"
    )
    started = time.perf_counter()
    railed = optimise_catalog(guardrails_on=True, demand=demand)
    railed_s = time.perf_counter() - started
    capture_on = revenue_capture(truth.curves, railed[["course_id", "current_price", "recommended_price"]])
    step = float(pricing_settings().max_change_pct) / 100
    within = (
        (railed["recommended_price"] >= settings.TOKEN_PRICE_MIN)
        & (railed["recommended_price"] <= settings.TOKEN_PRICE_MAX)
        & (railed["recommended_price"] >= np.floor(railed["current_price"] * (1 - step)))
        & (railed["recommended_price"] <= np.ceil(railed["current_price"] * (1 + step)))
    )
    print(
        f"guardrails on ({railed_s:.2f} s): catalog share {capture_on['catalog_share_of_optimal']:.3f}, "
        f"lift {capture_on['lift_over_current_pct']:+.1f}%, "
        f"within guardrails {int(within.sum())}/{len(railed)}"
    )
    print(f"  confidence: {railed['confidence'].value_counts().to_dict()}")
    ids = free["course_id"].to_numpy()[:200]
    times = []
    for course in Course.objects.filter(pk__in=[int(c) for c in ids]):
        started = time.perf_counter()
        optimise_course(course=course, demand=demand)  # what POST /api/v1/pricing/optimize/ runs
        times.append((time.perf_counter() - started) * 1000)
    print(
        f"one course's optimize call: median {statistics.median(times):.1f} ms, "
        f"p95 {sorted(times)[int(0.95 * len(times))]:.1f} ms over {len(times)} courses"
    )
    pages(ids[:30])


def pages(course_ids) -> None:
    """Server time of the teacher's course page and of one slider answer (htmx), as the teacher."""
    from django.test import Client
    from django.urls import reverse

    from tokenecon.models import Course

    def timed(client, url, **headers) -> float:
        started = time.perf_counter()
        response = client.get(url, **headers)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (url, response.status_code)
        return elapsed

    page_ms, slider_ms = [], []
    for course in Course.objects.filter(pk__in=[int(c) for c in course_ids]).select_related("teacher__user"):
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(course.teacher.user)
        timed(client, reverse("pricing:course_detail", args=[course.code]))  # warm the model cache
        page_ms.append(timed(client, reverse("pricing:course_detail", args=[course.code])))
        what_if = reverse("pricing:course_what_if", args=[course.code])
        for price in (course.price_tokens * 0.8, course.price_tokens * 1.2):
            slider_ms.append(timed(client, f"{what_if}?price={round(price)}", HTTP_HX_REQUEST="true"))

    def p95(values) -> float:
        return sorted(values)[int(0.95 * (len(values) - 1))]

    print(
        f"teacher course page: median {statistics.median(page_ms):.0f} ms, p95 {p95(page_ms):.0f} ms, "
        f"max {max(page_ms):.0f} ms over {len(page_ms)} courses; slider answer: median "
        f"{statistics.median(slider_ms):.1f} ms, p95 {p95(slider_ms):.1f} ms, max {max(slider_ms):.1f} ms"
    )


if __name__ == "__main__":
    main()
