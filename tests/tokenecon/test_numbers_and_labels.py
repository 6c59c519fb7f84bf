"""Issue 15, defects 9 and 10 on the staff pages and the run reports: numbers with thousands
separators and units, category labels instead of their codes, plurals that agree."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string

from analytics.reports.demand import demand_curves, elasticity_chart
from tests.factories import CourseFactory, EnrollmentFactory, StaffFactory
from tests.helpers import signed_in
from tokenecon.templatetags.labels import category_label, enrollment_status_label

pytestmark = pytest.mark.django_db


def test_the_label_filters_name_codes_and_keep_unknown_ones():
    assert category_label("test_prep") == "Test preparation"
    assert category_label("data_science") == "Data science"
    assert category_label("unheard_of") == "unheard_of"
    assert enrollment_status_label("refunded") == "Refunded"


def test_data_quality_page_writes_separators_units_and_category_labels(client, settings):
    settings.TOKEN_PRICE_MAX = 5000
    expensive = CourseFactory(price_tokens=2500, category="data_science")
    CourseFactory(price_tokens=2415, category="test_prep")
    EnrollmentFactory(course=expensive, rating=4)
    page = signed_in(client, StaffFactory()).get("/dashboard/data-quality/").content.decode()
    assert '2,457.5 <span class="unit">tokens</span>' in page  # the mean price
    assert "min 2,415, max 2,500 over 2 courses" in page
    assert "2,010–2,509" in page  # a price band, with separators
    assert "<td>Data science</td>" in page
    assert "data_science" not in page and "test_prep" not in page
    assert "<td>Active</td>" in page  # enrollment status label, not the code
    assert "1 course without any" in page


def test_propensity_report_separates_thousands_and_agrees_in_number():
    report = {
        "evaluation_cutoff": "2025-03-01",
        "selection_rule": "best ROC AUC",
        "targets": {"enroll": {"registry_name": "propensity", "rows": 9068, "base_rate": 0.1, "models": []}},
        "price_sensitivity": {"spearman": 0.5, "learners": 1},
    }
    html = render_to_string("analytics/partials/propensity_report.html", {"report": report, "charts": []})
    assert "9,068 learners" in html
    assert "over 1 learner." in html


def test_run_progress_counts_held_out_weeks_with_separators():
    from tests.factories import PipelineRunFactory

    run = PipelineRunFactory(
        status="succeeded",
        report={
            "report": {
                "promotion": {"promoted": True, "version": 3, "holdout_rows": 1400, "holdout_active_weeks": 1}
            }
        },
    )
    html = render_to_string("analytics/partials/run_progress.html", {"run": run})
    assert "1,400 held-out course-weeks in 1 week with enrollments" in html


def test_demand_report_charts_name_categories_by_label():
    evaluation = {
        "candidates": {
            "linear": {
                "intervals": [
                    {"category": "test_prep", "elasticity": -1.2, "lower": -1.5, "upper": -0.9},
                    {"category": "data_science", "elasticity": -0.8, "lower": -1.0, "upper": -0.6},
                ]
            }
        },
        "naive": {"test_prep": -0.5},
        "truth_category_elasticity": {"data_science": -0.7},
    }
    figure = elasticity_chart(evaluation)
    names = {x for trace in figure.data for x in trace.x}
    assert names == {"Test preparation", "Data science"}


def test_demand_curve_names_use_category_labels():
    import pandas as pd

    class Flat:
        def predict_weekly(self, frame, prices):
            return prices * 0 + 1

    rows = pd.DataFrame([{"course_id": 1, "code": "C00001", "category": "test_prep", "price": 100.0}])
    figure = demand_curves(Flat(), rows)
    assert figure.data[0].name == "C00001 (Test preparation)"
