"""The staff's price-advice list: filters (pending only, confidence, category, teacher, search),
kept in the pager and the CSV link; CSV downloads of the advice, a teacher's payout requests and
the admin's ledger transfers, with the page's columns (issue 15)."""

from __future__ import annotations

import csv
import io

import pytest

from pricing.views import PAGE_SIZE
from tests.factories import (
    CourseFactory,
    PayoutRequestFactory,
    PriceRecommendationFactory,
    StaffFactory,
    TeacherFactory,
)
from tests.helpers import signed_in
from tokenecon.services.accounts import top_up_wallet
from tokenecon.services.enrollment import purchase_course

pytestmark = pytest.mark.django_db

URL = "/teacher/courses/"
CSV_URL = "/teacher/courses.csv"


@pytest.fixture
def advice_world():
    ada = TeacherFactory(display_name="Ada", external_id="T-ADA")
    bob = TeacherFactory(display_name="Bob", external_id="T-BOB")
    raise_high = CourseFactory(code="C80001", title="Python basics", teacher=ada, category="programming")
    keep = CourseFactory(code="C80002", title="Jazz piano", teacher=bob, category="music")
    raise_low = CourseFactory(code="C80003", title="SQL joins", teacher=bob, category="data_science")
    CourseFactory(code="C80004", title="No advice", teacher=ada, category="test_prep")
    PriceRecommendationFactory(course=raise_high, confidence="high")
    PriceRecommendationFactory(course=keep, confidence="high", recommended_price_tokens=keep.price_tokens)
    PriceRecommendationFactory(course=raise_low, confidence="low")
    return {"ada": ada, "bob": bob}


def shown(client, **params) -> list[str]:
    response = client.get(URL, params)
    assert response.status_code == 200
    return [course.code for course in response.context["page"].object_list]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["C80001", "C80002", "C80003", "C80004"]),
        ({"pending": "on"}, ["C80001", "C80003"]),  # keep-the-price advice is not a pending change
        ({"confidence": "high"}, ["C80001", "C80002"]),
        ({"category": "data_science"}, ["C80003"]),
        ({"teacher": "T-BOB"}, ["C80002", "C80003"]),
        ({"q": "sql"}, ["C80003"]),
        ({"q": "c8000"}, ["C80001", "C80002", "C80003", "C80004"]),
        ({"pending": "on", "confidence": "high", "teacher": "T-ADA"}, ["C80001"]),
    ],
)
def test_staff_filters(client, advice_world, params, expected):
    signed_in(client, StaffFactory())
    assert shown(client, **params) == expected


def test_a_bad_filter_is_reported_and_the_others_still_apply(client, advice_world):
    signed_in(client, StaffFactory())
    response = client.get(URL, {"teacher": "T-NOBODY", "category": "music"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert [c.code for c in response.context["page"].object_list] == ["C80002"]


def test_the_page_says_how_many_match_and_the_csv_link_keeps_the_filters(client, advice_world):
    page = signed_in(client, StaffFactory()).get(URL, {"teacher": "T-BOB", "page": "1"}).content.decode()
    assert "2 courses match the filters" in page
    assert 'href="/teacher/courses.csv?teacher=T-BOB"' in page
    assert "all 4 courses" in page  # the recompute still covers the whole catalog


def test_the_pager_keeps_the_filters(client):
    teacher = TeacherFactory(external_id="T-MANY")
    for n in range(PAGE_SIZE + 3):
        CourseFactory(teacher=teacher, code=f"C7{n:04d}")
    CourseFactory(code="C00000")  # another teacher's: filtered out
    signed_in(client, StaffFactory())
    first = client.get(URL, {"teacher": "T-MANY"})
    assert "teacher=T-MANY" in first.content.decode().split('class="pager"')[1]
    second = client.get(URL, {"teacher": "T-MANY", "page": 2})
    assert len(second.context["page"].object_list) == 3
    assert "C00000" not in {c.code for c in second.context["page"].object_list}


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_advice_csv_has_the_page_columns_and_the_filtered_rows(client, advice_world):
    signed_in(client, StaffFactory())
    response = client.get(CSV_URL, {"teacher": "T-BOB"})
    assert 'filename="price-advice.csv"' in response["Content-Disposition"]
    header, *rows = rows_of(response)
    page = client.get(URL).content.decode()
    columns = [
        "Code",
        "Teacher",
        "Category",
        "Price",
        "Recommended",
        "Earnings change / 30 days",
        "Confidence",
    ]
    assert header == columns
    for title in columns:
        assert f"<th>{title}</th>" in page or f'<th class="num">{title}</th>' in page
    assert [row[:3] for row in rows] == [["C80002", "Bob", "Music"], ["C80003", "Bob", "Data science"]]
    assert rows[1][6] == "Low" and rows[1][4] == "110"


def test_advice_csv_covers_every_page(client):
    for n in range(PAGE_SIZE + 3):
        CourseFactory(code=f"C6{n:04d}")
    _, *rows = rows_of(signed_in(client, StaffFactory()).get(CSV_URL))
    assert len(rows) == PAGE_SIZE + 3


def test_advice_csv_quotes_formula_looking_text(client):
    CourseFactory(teacher=TeacherFactory(display_name="=HYPERLINK(1)"))
    _, row = rows_of(signed_in(client, StaffFactory()).get(CSV_URL))
    assert row[1] == "'=HYPERLINK(1)"


def test_teacher_payouts_csv_lists_only_their_requests(client):
    teacher, other = TeacherFactory(), TeacherFactory()
    mine = PayoutRequestFactory(teacher=teacher, amount_tokens=1500)
    PayoutRequestFactory(teacher=other)
    response = signed_in(client, teacher.user).get("/teacher/earnings/payouts.csv")
    header, *rows = rows_of(response)
    assert header == [
        "#",
        "Requested",
        "Tokens",
        "Money",
        "Currency",
        "Status",
        "Decided",
        "Reference or reason",
    ]
    assert [row[0] for row in rows] == [str(mine.pk)] and rows[0][2] == "1500"
    assert f"payouts-{teacher.external_id}.csv" in response["Content-Disposition"]
    page = client.get("/teacher/earnings/").content.decode()
    assert 'data-testid="payouts-csv"' in page


def test_admin_transfers_csv_keeps_the_list_filters(client):
    from tests.factories import LearnerFactory

    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=500, idempotency_key="csv-top")
    purchase_course(learner=learner, course=CourseFactory(price_tokens=120), idempotency_key="csv-buy")
    signed_in(client, StaffFactory())
    listing = client.get("/admin/tokenecon/transfer/?kind=purchase").content.decode()
    assert 'href="/admin/tokenecon/transfer/export-csv/?kind=purchase"' in listing
    header, *rows = rows_of(client.get("/admin/tokenecon/transfer/export-csv/?kind=purchase"))
    assert header == [
        "ID",
        "Kind",
        "Created at",
        "Tokens moved",
        "From → to",
        "Memo",
        "Enrollment",
        "Reverses",
    ]
    assert len(rows) == 1 and rows[0][3] == "120" and "→" in rows[0][4]
    _, *every = rows_of(client.get("/admin/tokenecon/transfer/export-csv/"))
    assert len(every) >= 2
    assert client.get("/admin/tokenecon/transfer/export-csv/?nonsense=1").status_code in (400, 302)


def test_csv_downloads_need_their_role(client):
    teacher = TeacherFactory()
    assert signed_in(client, teacher.user).get(CSV_URL).status_code == 403
    assert client.get("/admin/tokenecon/transfer/export-csv/").status_code == 302
