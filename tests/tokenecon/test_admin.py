import re

import pytest

from tests.factories import CourseFactory, LearnerFactory, LearnerScoreFactory, OfferFactory
from tests.helpers import signed_in
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.models import Enrollment, EnrollmentStatus, Transfer, TransferKind
from tokenecon.services.accounts import top_up_wallet, wallet_of
from tokenecon.services.enrollment import purchase_course
from tokenecon.staticfiles import HTMX_STATIC

pytestmark = pytest.mark.django_db


def test_admin_refund_action_goes_through_the_ledger(client, staff):
    admin = signed_in(client, staff)
    learner, course = LearnerFactory(), CourseFactory(price_tokens=30)
    top_up_wallet(learner=learner, amount_tokens=30, idempotency_key="t")
    enrollment = purchase_course(learner=learner, course=course, idempotency_key="p")
    response = admin.post(
        "/admin/tokenecon/enrollment/",
        {"action": "refund_selected", "_selected_action": [enrollment.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Refunded 1 enrollment" in response.content.decode()
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.REFUNDED
    assert wallet_of(learner).balance_tokens == 30
    assert Transfer.objects.filter(kind=TransferKind.REFUND).count() == 1
    assert_ledger_consistent()


def test_admin_refund_of_a_refunded_enrollment_reports_the_reason(client, staff):
    admin = signed_in(client, staff)
    learner, course = LearnerFactory(), CourseFactory(price_tokens=30)
    top_up_wallet(learner=learner, amount_tokens=30, idempotency_key="t")
    enrollment = purchase_course(learner=learner, course=course, idempotency_key="p")
    data = {"action": "refund_selected", "_selected_action": [enrollment.pk]}
    admin.post("/admin/tokenecon/enrollment/", data)
    response = admin.post("/admin/tokenecon/enrollment/", data, follow=True)
    assert "already refunded" in response.content.decode()
    assert Transfer.objects.filter(kind=TransferKind.REFUND).count() == 1


@pytest.mark.parametrize("model", ["transfer", "entry", "account"])
def test_ledger_rows_are_read_only_in_the_admin(client, staff, learner, model):
    admin = signed_in(client, staff)
    transfer = top_up_wallet(learner=learner, amount_tokens=5, idempotency_key="t")
    pk = {"transfer": transfer.pk, "entry": transfer.entries.first().pk, "account": wallet_of(learner).pk}[
        model
    ]
    assert admin.get(f"/admin/tokenecon/{model}/").status_code == 200
    assert admin.get(f"/admin/tokenecon/{model}/add/").status_code == 403
    assert admin.post(f"/admin/tokenecon/{model}/{pk}/delete/", {"post": "yes"}).status_code == 403
    page = admin.get(f"/admin/tokenecon/{model}/{pk}/change/")
    assert page.status_code == 200
    assert not re.search(r'name="_save"', page.content.decode())
    assert Transfer.objects.count() == 1


@pytest.mark.parametrize(
    "path",
    [
        "/admin/tokenecon/teacher/",
        "/admin/tokenecon/learner/",
        "/admin/tokenecon/course/",
        "/admin/tokenecon/pricechange/",
        "/admin/tokenecon/enrollment/",
        "/admin/tokenecon/learneractivity/",
        "/admin/tokenecon/course/add/",
        "/admin/tokenecon/course/?q=C0&category__exact=programming",
    ],
)
def test_admin_lists_and_forms_render(client, staff, course, path):
    admin = signed_in(client, staff)
    assert admin.get(path).status_code == 200


def test_enrollments_cannot_be_added_by_hand(client, staff):
    admin = signed_in(client, staff)
    assert admin.get("/admin/tokenecon/enrollment/add/").status_code == 403
    assert Enrollment.objects.count() == 0


@pytest.mark.parametrize("path", ["/teacher/", "/learner/", "/dashboard/"])
def test_portal_pages_load_htmx_from_static_and_nothing_from_a_cdn(client, path, teacher, learner, staff):
    user = {"/teacher/": teacher.user, "/learner/": learner.user, "/dashboard/": staff}[path]
    html = signed_in(client, user).get(path).content.decode()
    assert f"/static/{HTMX_STATIC}" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_transfer_list_shows_the_tokens_moved_and_between_which_accounts(client, staff, learner):
    top_up_wallet(learner=learner, amount_tokens=1250, idempotency_key="shown")
    html = signed_in(client, staff).get("/admin/tokenecon/transfer/").content.decode()
    assert "1,250" in html
    assert f"Platform treasury (platform) → Learner wallet ({learner.user.username})" in html.replace(
        "&rarr;", "→"
    )


def test_admin_reverses_a_transfer_once_and_sends_purchases_to_the_refund(client, staff, learner, course):
    admin = signed_in(client, staff)
    top_up = top_up_wallet(learner=learner, amount_tokens=300, idempotency_key="to-reverse")
    data = {"action": "reverse_selected", "_selected_action": [top_up.pk]}
    admin.post("/admin/tokenecon/transfer/", data)
    admin.post("/admin/tokenecon/transfer/", data)
    assert Transfer.objects.filter(kind=TransferKind.ADJUSTMENT, reverses=top_up).count() == 1
    assert wallet_of(learner).balance_tokens == 0
    top_up_wallet(learner=learner, amount_tokens=course.price_tokens, idempotency_key="again")
    enrollment = purchase_course(learner=learner, course=course, idempotency_key="bought")
    purchase = Transfer.objects.get(enrollment=enrollment, kind=TransferKind.PURCHASE)
    response = admin.post(
        "/admin/tokenecon/transfer/",
        {"action": "reverse_selected", "_selected_action": [purchase.pk]},
        follow=True,
    )
    assert "refunding its enrollment" in response.content.decode()
    assert not Transfer.objects.filter(reverses=purchase).exists()


def test_offers_and_learner_scores_are_in_the_admin(client, staff):
    offer = OfferFactory(reason="20% off: elasticity -1.9 and a sensitive learner")
    LearnerScoreFactory(learner=offer.learner)
    admin = signed_in(client, staff)
    assert "elasticity -1.9" in admin.get(f"/admin/learners/offer/{offer.pk}/change/").content.decode()
    assert admin.get("/admin/learners/offer/").status_code == 200
    assert admin.get("/admin/learners/learnerscore/").status_code == 200
    assert admin.get("/admin/learners/offer/add/").status_code == 403
