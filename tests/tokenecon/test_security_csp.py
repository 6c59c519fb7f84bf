"""Every page is sent a Content-Security-Policy that allows scripts from this site only (plus a
per-request nonce), and the pages carry no inline script: Plotly figures are data drawn by
static/js/app.js, htmx injects no style, Swagger UI loads its start-up script as a file."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest
from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse

from analytics.reports.html import figure_html as report_figure_html
from pricing.charts import earnings_figure
from tests.factories import CourseFactory, LearnerFactory
from tests.helpers import signed_in
from tokenecon.services.accounts import top_up_wallet
from tokenecon.services.enrollment import purchase_course

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def assert_strict(response) -> None:
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert (
        "'unsafe-inline'" not in directives["script-src"] and "'unsafe-eval'" not in directives["script-src"]
    )
    assert directives["script-src"][0] == "'self'"
    assert directives["object-src"] == ["'none'"] and directives["frame-ancestors"] == ["'self'"]
    assert not INLINE_SCRIPT.search(response.content.decode()), "an inline script the policy would block"


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_anonymous_pages_send_the_policy_and_no_inline_script(client, db, url):
    response = client.get(url)
    assert response.status_code == 200
    assert_strict(response)


def test_the_base_page_turns_off_htmx_injected_styles_and_loads_the_figure_script(client, db):
    body = client.get("/accounts/login/").content.decode()
    assert """<meta name="htmx-config" content='{"includeIndicatorStyles": false}'>""" in body
    assert '<script src="/static/js/app.js" defer></script>' in body


def test_the_teacher_earnings_chart_is_data_not_an_inline_script(client, db):
    course = CourseFactory()
    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=500, idempotency_key="t")
    purchase_course(learner=learner, course=course, idempotency_key="p")
    response = signed_in(client, course.teacher.user).get(reverse("pricing:earnings"))
    assert response.status_code == 200
    assert_strict(response)
    assert 'class="plotly-figure" data-figure="' in response.content.decode()


def test_figure_data_cannot_end_its_tag():
    hostile = '"></div><script>alert(1)</script>'
    html = report_figure_html(go.Figure(layout={"title": {"text": hostile}}))
    assert "<script" not in html and html.count("<div") == 1 and html.count('"') == 6  # 3 attributes
    chart = earnings_figure(
        pd.DataFrame({"week": [hostile], "cumulative_earned_tokens": [1], "paid_out_tokens": [0]})
    )
    assert "<script>" not in chart and chart.count("<div") == 1


def test_swagger_ui_loads_its_start_up_script_as_a_file(client, staff):
    signed_in(client, staff)
    page = client.get(reverse("swagger-ui"))
    assert page.status_code == 200
    assert_strict(page)
    script = re.search(r'<script src="([^"]*script=[^"]*)"', page.content.decode()).group(1)
    start_up = client.get(script.replace("&amp;", "&"))
    assert start_up.status_code == 200 and start_up["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in start_up.content.decode()


def test_a_nonce_is_in_the_policy_when_a_page_uses_one(rf, db):
    request = rf.get("/")
    middleware = CSPMiddleware(lambda r: HttpResponse(f'<script nonce="{r.csp_nonce}"></script>'))
    response = middleware(request)
    assert f"'nonce-{request.csp_nonce}'" in response["Content-Security-Policy"]


def test_no_template_has_an_inline_event_handler_or_script():
    """The policy blocks ``onclick=``-style handlers and inline scripts: behaviours live in
    static/js/app.js (``data-output`` for a slider's value, ``.plotly-figure`` for charts)."""
    offenders = []
    for path in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        text = path.read_text()
        if re.search(r"\son[a-z]+\s*=", text) or INLINE_SCRIPT.search(text) or "javascript:" in text:
            offenders.append(str(path))
    assert offenders == []
