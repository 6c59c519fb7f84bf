"""The learner portal pages: who may open what, the wallet (its packs:
test_portal_payments.py), the catalog's search and filters (with htmx partials), the course
page's offer price, enrolling through the ledger (with an offer, without, short of tokens,
twice), offers, recommendations and my courses."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from learners.models import Offer
from learners.services.suggestions import clear_suggestion_cache
from learners.templatetags.learner_portal import expires_in
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    LearnerFactory,
    OfferFactory,
    StaffFactory,
    TeacherFactory,
)
from tests.helpers import api_client_for, signed_in
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.models import Course, Enrollment, Transfer, TransferKind
from tokenecon.services.accounts import top_up_wallet, wallet_of
from tokenecon.services.enrollment import purchase_course
from tokenecon.services.rates import tokens_to_money
from tokenecon.templatetags.amounts import money

pytestmark = pytest.mark.django_db

TOKEN = "0123456789abcdef0123456789abcdef"
OTHER_TOKEN = "fedcba9876543210fedcba9876543210"


@pytest.fixture(autouse=True)
def fresh_suggestions():
    clear_suggestion_cache()
    yield
    clear_suggestion_cache()


def make_offer(learner, course=None, pct=20, *, category=None, days=7, status=Offer.Status.SHOWN):
    """An offer on a course, or on every course of ``category`` when no course is given."""
    extra = {"category": category} if category else {}
    return OfferFactory(
        learner=learner,
        course=course,
        discount_pct=Decimal(pct),
        expires_at=timezone.now() + timedelta(days=days),
        status=status,
        **extra,
    )


def balance(learner) -> int:
    return wallet_of(learner).balance_tokens


def enroll_post(client, course, *, price, offer=None, token=TOKEN, **headers):
    data = {"form_token": token, "price_tokens": price}
    if offer is not None:
        data["offer"] = offer.pk
    return client.post(reverse("learners:enroll", args=[course.code]), data, **headers)


@pytest.fixture
def funded(client, learner):
    top_up_wallet(learner=learner, amount_tokens=500, idempotency_key="funded-top-up")
    signed_in(client, learner.user)
    return learner


# --- who may open what ---------------------------------------------------------------------------

PAGES = ["learner_home", "wallet", "catalog", "offers", "recommendations", "my_courses"]


@pytest.mark.parametrize("name", [*PAGES, "course_detail", "enroll"])
def test_every_page_by_role(client, name, course):
    args = [course.code] if name in ("course_detail", "enroll") else []
    url = reverse(f"learners:{name}", args=args)
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert signed_in(client, course.teacher.user).get(url).status_code == 403
    assert signed_in(client, StaffFactory()).get(url).status_code == 403
    assert signed_in(client, LearnerFactory().user).get(url).status_code == 200


def test_another_learners_offer_is_a_404_and_charges_nothing(client, funded, course):
    stranger_offer = make_offer(LearnerFactory(), course, 50)
    assert client.get(reverse("learners:use_offer", args=[stranger_offer.pk])).status_code == 404
    response = enroll_post(client, course, price=50, offer=stranger_offer)
    assert response.status_code == 404
    assert balance(funded) == 500 and not Enrollment.objects.exists()
    stranger_offer.refresh_from_db()
    assert stranger_offer.status == Offer.Status.SHOWN


def test_own_offer_link_opens_its_course_or_category(client, funded, course):
    on_course = make_offer(funded, course)
    on_category = make_offer(funded, category="music")
    response = client.get(reverse("learners:use_offer", args=[on_course.pk]))
    assert response["Location"] == reverse("learners:course_detail", args=[course.code])
    response = client.get(reverse("learners:use_offer", args=[on_category.pk]))
    assert response["Location"] == reverse("learners:catalog") + "?category=music"


def test_course_not_on_sale_is_a_404_for_page_and_purchase(client, funded):
    draft = CourseFactory(status=Course.Status.DRAFT)
    assert client.get(reverse("learners:course_detail", args=[draft.code])).status_code == 404
    assert client.get(reverse("learners:enroll", args=[draft.code])).status_code == 404
    assert enroll_post(client, draft, price=100).status_code == 404
    assert balance(funded) == 500 and not Enrollment.objects.exists()


def test_retired_course_stays_visible_to_its_learner_without_an_enroll_button(client, funded, course):
    purchase_course(learner=funded, course=course, idempotency_key="owned")
    Course.objects.filter(pk=course.pk).update(status=Course.Status.RETIRED)
    response = client.get(reverse("learners:course_detail", args=[course.code]))
    assert response.status_code == 200
    assert b'data-testid="enrolled"' in response.content and b'data-testid="enroll"' not in response.content


# --- wallet --------------------------------------------------------------------------------------


def test_wallet_shows_balance_money_and_history(client, funded):
    response = client.get(reverse("learners:wallet"))
    assert response.context["balance_tokens"] == 500
    assert response.context["balance_money"] == Decimal("50.00")
    assert "Top-up" in response.content.decode()
    # Tokens are bought as packs (tests/learners/test_portal_payments.py).
    assert [p.code for p in response.context["packs"]] == ["starter", "regular", "big"]


def test_wallet_history_paginates(client, funded):
    for i in range(30):
        top_up_wallet(learner=funded, amount_tokens=1, idempotency_key=f"page-{i}")
    first = client.get(reverse("learners:wallet"))
    assert len(first.context["entries"].object_list) == 25
    second = client.get(reverse("learners:wallet") + "?page=2")
    assert len(second.context["entries"].object_list) == 6


def test_catalog_pager_links_keep_the_search_and_have_one_question_mark(client, funded):
    for i in range(25):
        CourseFactory(title=f"Python {i}")
    CourseFactory(title="Cooking")
    html = client.get(reverse("learners:catalog") + "?q=python").content.decode()
    assert 'href="?q=python&amp;page=2"' in html
    assert "??" not in html


# --- catalog -------------------------------------------------------------------------------------


@pytest.fixture
def catalog_world(funded):
    teacher = TeacherFactory(display_name="Ada Teacher")
    courses = {
        "python": CourseFactory(teacher=teacher, title="Python basics", price_tokens=80),
        "sql": CourseFactory(
            teacher=teacher,
            title="Querying data",
            description="Learn SQL joins",
            category="data_science",
            difficulty="intermediate",
            price_tokens=150,
        ),
        "jazz": CourseFactory(teacher=teacher, title="Jazz piano", category="music", price_tokens=300),
        "draft": CourseFactory(teacher=teacher, title="Python advanced draft", status=Course.Status.DRAFT),
    }
    return courses


def catalog(client, query="", **headers):
    return client.get(reverse("learners:catalog") + query, **headers)


def codes(response) -> set[str]:
    return {course.code for course in response.context["page"].object_list}


def test_catalog_lists_published_courses_only(client, catalog_world):
    listed = codes(catalog(client))
    assert listed == {catalog_world[k].code for k in ("python", "sql", "jazz")}


def test_catalog_search_matches_title_code_and_description(client, catalog_world):
    assert codes(catalog(client, "?q=python")) == {catalog_world["python"].code}
    assert codes(catalog(client, "?q=SQL+joins")) == {catalog_world["sql"].code}
    assert codes(catalog(client, f"?q={catalog_world['jazz'].code}")) == {catalog_world["jazz"].code}


def test_catalog_page_and_api_search_find_the_same_courses(client, catalog_world):
    api = api_client_for(LearnerFactory().user)
    # A title, a phrase only in a description, a course code in lower case, two titles at once.
    for query in ("python", "SQL joins", catalog_world["jazz"].code.lower(), "a"):
        page = codes(catalog(client, "?" + urlencode({"q": query})))
        found = api.get("/api/v1/courses/", {"search": query, "status": Course.Status.PUBLISHED})
        assert page and page == {row["code"] for row in found.json()["results"]}, query


def test_catalog_filters_category_level_and_price(client, catalog_world):
    assert codes(catalog(client, "?category=music")) == {catalog_world["jazz"].code}
    assert codes(catalog(client, "?level=intermediate")) == {catalog_world["sql"].code}
    assert codes(catalog(client, "?price_min=100&price_max=200")) == {catalog_world["sql"].code}
    assert codes(catalog(client, "?price_max=100&category=programming")) == {catalog_world["python"].code}
    prices = [c.price_tokens for c in catalog(client, "?sort=-price").context["page"].object_list]
    assert prices == sorted(prices, reverse=True)


def test_catalog_reports_bad_filters_and_applies_the_rest(client, catalog_world):
    response = catalog(client, "?price_min=abc&category=music")
    assert "Enter a whole number" in response.content.decode()
    assert codes(response) == {catalog_world["jazz"].code}
    response = catalog(client, "?price_min=300&price_max=100")
    assert "below the min price" in response.content.decode()


def test_catalog_htmx_request_gets_the_results_fragment(client, catalog_world):
    response = catalog(client, "?q=jazz", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.startswith('<div id="catalog-results"') and "<html" not in body
    assert "Jazz piano" in body and "Python basics" not in body
    assert "HX-Request" in response["Vary"]
    full = catalog(client, "?q=jazz")
    assert "<html" in full.content.decode() and 'hx-push-url="true"' in full.content.decode()
    restore = catalog(client, "?q=jazz", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in restore.content.decode()


def test_catalog_paginates_and_keeps_the_filters_in_page_links(client, funded):
    for i in range(25):
        CourseFactory(title=f"Bulk {i}", category="design")
    response = catalog(client, "?category=design")
    assert len(response.context["page"].object_list) == 20
    assert "category=design&amp;page=2" in response.content.decode()
    assert len(catalog(client, "?category=design&page=2").context["page"].object_list) == 5


def test_catalog_rows_show_the_learners_offer_price(client, funded, catalog_world):
    make_offer(funded, catalog_world["sql"], 20)
    make_offer(funded, category="music", pct=10)
    make_offer(funded, catalog_world["python"], 50, status=Offer.Status.REDEEMED)
    rows = {c.code: c for c in catalog(client).context["page"].object_list}
    assert rows[catalog_world["sql"].code].my_price == 120
    assert rows[catalog_world["jazz"].code].my_price == 270
    assert rows[catalog_world["python"].code].my_price == 80


def test_catalog_page_makes_a_fixed_number_of_queries(client, funded, django_assert_max_num_queries):
    for i in range(20):
        course = CourseFactory(title=f"Q {i}")
        make_offer(funded, course, 10)
    with django_assert_max_num_queries(12):
        response = catalog(client)
    assert len(response.context["page"].object_list) == 20


# --- course page and enrolling -------------------------------------------------------------------


def test_course_page_shows_offer_price_and_balance(client, funded, course):
    course.description = "All about loops"
    course.save()
    offer = make_offer(funded, course, 25, days=3)
    response = client.get(reverse("learners:course_detail", args=[course.code]))
    body = response.content.decode()
    assert response.context["offer"] == offer and response.context["my_price"] == 75
    assert course.teacher.display_name in body and "All about loops" in body
    assert "expires in 2 days" in body or "expires in 3 days" in body
    assert "Enroll for 75 tokens" in body


def test_enroll_confirmation_shows_price_and_balance_after(client, funded, course):
    make_offer(funded, course, 25)
    response = client.get(reverse("learners:enroll", args=[course.code]))
    assert response.context["my_price"] == 75 and response.context["balance_after"] == 425
    assert b'data-testid="confirm-enroll"' in response.content
    partial = client.get(reverse("learners:enroll", args=[course.code]), HTTP_HX_REQUEST="true")
    assert partial.content.decode().startswith('<section id="enroll-panel"')


def test_enroll_with_an_offer_pays_the_discounted_price_and_redeems_it(client, funded, course):
    offer = make_offer(funded, course, 25)
    response = enroll_post(client, course, price=75, offer=offer)
    assert response.status_code == 302
    assert response["Location"] == reverse("learners:course_detail", args=[course.code])
    assert balance(funded) == 425
    offer.refresh_from_db()
    enrollment = Enrollment.objects.get(learner=funded, course=course)
    assert offer.status == Offer.Status.REDEEMED and offer.enrollment == enrollment
    assert enrollment.price_paid_tokens == 75 and enrollment.discount_pct == 25
    page = client.get(response["Location"]).content.decode()
    assert "balance is now 425 tokens" in page
    assert 'data-testid="enrolled"' in page and 'data-testid="enroll"' not in page
    assert_ledger_consistent()


def test_enroll_without_an_offer_pays_the_list_price(client, funded, course):
    response = enroll_post(client, course, price=100)
    assert response.status_code == 302 and balance(funded) == 400
    assert Enrollment.objects.get(learner=funded).price_paid_tokens == 100


def test_enroll_with_too_few_tokens_shows_the_shortfall_and_charges_nothing(client, learner, course):
    top_up_wallet(learner=learner, amount_tokens=30, idempotency_key="poor")
    signed_in(client, learner.user)
    offer = make_offer(learner, course, 20)
    confirm = client.get(reverse("learners:enroll", args=[course.code])).content.decode()
    assert "You need 50 more tokens: 80 needed, 30 available" in confirm
    assert 'data-testid="confirm-enroll"' not in confirm and "?amount=50" in confirm
    transfers = Transfer.objects.count()

    response = enroll_post(client, course, price=80, offer=offer)

    assert response.status_code == 402
    assert "costs 80 tokens and your wallet has 30" in response.content.decode()
    assert balance(learner) == 30 and Transfer.objects.count() == transfers
    assert not Enrollment.objects.exists()
    offer.refresh_from_db()
    assert offer.status == Offer.Status.SHOWN


def test_htmx_enroll_short_of_tokens_swaps_the_panel_with_the_error(client, learner, course):
    signed_in(client, learner.user)
    response = enroll_post(client, course, price=100, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "costs 100 tokens and your wallet has 0" in response.content.decode()
    assert not Enrollment.objects.exists()


def test_htmx_enroll_redirects_to_the_course_page(client, funded, course):
    response = enroll_post(client, course, price=100, HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse("learners:course_detail", args=[course.code])
    assert balance(funded) == 400


def test_double_submitted_enrollment_charges_once(client, funded, course):
    offer = make_offer(funded, course, 10)
    first = enroll_post(client, course, price=90, offer=offer)
    second = enroll_post(client, course, price=90, offer=offer)
    assert first.status_code == second.status_code == 302
    assert balance(funded) == 410
    assert Enrollment.objects.filter(learner=funded).count() == 1
    assert Transfer.objects.filter(kind=TransferKind.PURCHASE).count() == 1
    # Another tab's confirmation (a new form token) cannot buy it twice either.
    assert enroll_post(client, course, price=100, token=OTHER_TOKEN).status_code == 302
    assert balance(funded) == 410
    assert_ledger_consistent()


def test_price_changed_since_confirmation_asks_again_and_charges_nothing(client, funded, course):
    Course.objects.filter(pk=course.pk).update(price_tokens=120)
    response = enroll_post(client, course, price=100)
    assert response.status_code == 409
    assert "changed from 100 to 120 tokens" in response.content.decode()
    assert balance(funded) == 500 and not Enrollment.objects.exists()


def test_enroll_form_without_token_or_price_is_a_bad_request(client, funded, course):
    url = reverse("learners:enroll", args=[course.code])
    assert client.post(url, {"price_tokens": 100}).status_code == 400
    assert client.post(url, {"form_token": TOKEN}).status_code == 400
    assert balance(funded) == 500


# --- offers, recommendations, my courses, home ---------------------------------------------------


def test_offers_page_separates_usable_from_used_and_expired(client, funded, course):
    usable = make_offer(funded, course, 15, days=4)
    category = make_offer(funded, category="data_science", pct=5, days=10)
    redeemed = make_offer(funded, course, 30, status=Offer.Status.REDEEMED)
    lapsed = make_offer(funded, course, 40, days=-1)  # shown, but past its expiry
    make_offer(LearnerFactory(), course, 60)
    response = client.get(reverse("learners:offers"))
    assert [o.pk for o in response.context["usable"]] == [usable.pk, category.pk]
    assert {o.pk for o in response.context["past"]} == {redeemed.pk, lapsed.pk}
    body = response.content.decode()
    assert "expires in 3 days" in body or "expires in 4 days" in body
    assert "every Data science course" in body and "−60%" not in body


def test_recommendations_page_excludes_owned_courses_and_follows_purchases(client, funded):
    courses = [CourseFactory(title=f"Rec {i}") for i in range(4)]
    purchase_course(learner=funded, course=courses[0], idempotency_key="own-0")
    response = client.get(reverse("learners:recommendations"))
    shown = [course.pk for _, course in response.context["suggestions"]]
    assert courses[0].pk not in shown and set(shown) == {c.pk for c in courses[1:]}
    assert all(s.reason for s, _ in response.context["suggestions"])

    enroll_post(client, courses[1], price=100)
    response = client.get(reverse("learners:recommendations"))
    after = [course.pk for _, course in response.context["suggestions"]]
    assert courses[1].pk not in after and len(after) == 2


def test_my_courses_shows_status_and_progress(client, funded, course):
    enrollment = purchase_course(learner=funded, course=course, idempotency_key="mine")
    Enrollment.objects.filter(pk=enrollment.pk).update(progress_pct=40)
    response = client.get(reverse("learners:my_courses"))
    body = response.content.decode()
    assert [e.pk for e in response.context["page"].object_list] == [enrollment.pk]
    assert 'style="width: 40%"' in body and "Active" in body


def test_home_shows_balance_offer_count_and_suggestions(client, funded, course):
    make_offer(funded, course, 10)
    CourseFactory(title="Another")
    response = client.get(reverse("learners:learner_home"))
    assert response.context["balance_tokens"] == 500 and response.context["offer_count"] == 1
    assert len(response.context["suggestions"]) == 2
    body = response.content.decode()
    for name in PAGES:
        assert reverse(f"learners:{name}") in body


def test_offer_expiry_is_phrased_in_days_then_hours_then_expired():
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert expires_in(now + timedelta(days=3, hours=2), now) == "expires in 3 days"
    assert expires_in(now + timedelta(hours=20), now) == "expires in 1 day"
    assert expires_in(now + timedelta(hours=5, minutes=30), now) == "expires in 5 hours"
    assert expires_in(now + timedelta(minutes=10), now) == "expires in 1 hour"
    assert expires_in(now - timedelta(seconds=1), now) == "expired"


MODEL_REASON = "20% off: at this learner's price sensitivity and a course elasticity of -1.89, it pays."


def test_learner_reads_a_plain_offer_message_never_the_models_reasoning(client, funded, course):
    offer = OfferFactory(learner=funded, course=course, discount_pct=Decimal("20"), reason=MODEL_REASON)
    OfferFactory(learner=funded, course=None, category="data_science", discount_pct=Decimal("12.5"))
    for name, args in [("course_detail", [course.code]), ("offers", [])]:
        html = client.get(reverse(f"learners:{name}", args=args)).content.decode()
        assert "elasticity" not in html and "sensitivity" not in html, name
        assert f"20% off “{course.title}” until {offer.expires_at:%d %B %Y}" in html.replace(
            "&ldquo;", "“"
        ).replace("&rdquo;", "”"), name
    offers_page = client.get(reverse("learners:offers")).content.decode()
    assert "12.5% off every Data science course" in offers_page


def test_course_page_says_how_many_ratings_the_average_has_beside_its_learners(client, funded, course):
    for rating in (5, 3, None):
        EnrollmentFactory(course=course, rating=rating)
    html = client.get(reverse("learners:course_detail", args=[course.code])).content.decode()
    assert "4.0 ★" in html
    assert "2 ratings · 3 learners" in html


def test_wallet_writes_money_with_thousands_separators_and_the_currency(client, funded, settings):
    top_up_wallet(learner=funded, amount_tokens=99_500, idempotency_key="big-top-up")
    html = client.get(reverse("learners:wallet")).content.decode()
    expected = money(tokens_to_money(balance(funded)))
    assert "," in expected and f"≈ {expected}" in html
