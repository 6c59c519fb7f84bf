"""The permission matrix: every URL pattern the resolver knows, requested by each of six callers
(anonymous, a learner, another learner, a teacher, another teacher, staff), with the answer each
must get stated in one table, ``MATRIX``.

The table's keys are the patterns' full routes as the resolver joins them, so a URL added without
an entry (or an entry left behind by a removed URL) fails ``test_every_url_pattern_has_an_entry``.
Django admin's patterns are enumerated from the resolver too and answered by one rule
(``ADMIN_RULE``, with its few exceptions in ``ADMIN_EXCEPTIONS``).

Object URLs point at rows of "teacher" and "learner" (``tests.permission_world``), so the
"other_*" columns prove object permissions: another teacher's course and another learner's id
answer 404, like missing ones. POST-only endpoints are posted to with a minimal body; what an
allowed role gets for that body (400, 409, a redirect) is stated as exactly as a refusal.

A cell can be marked with the defect it waits for (``Probe.defects``): it is then an
``xfail(strict=True)``, so the fix flips it to a pass and the strict mark fails until removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.db import transaction
from django.urls import resolve
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.helpers import api_client_for
from tests.permission_world import ROLES, admin_row, admin_values, build_world, path_for, walk_patterns

pytestmark = pytest.mark.django_db


class WrongAnswer(AssertionError):
    """A cell answered other than the table says (the only failure a defect's xfail accepts)."""


@dataclass(frozen=True)
class Redirect:
    """A 302 to ``to`` (its start: the login page carries ``?next=``)."""

    to: str


LOGIN = Redirect("/accounts/login/?next=")
ADMIN_LOGIN = Redirect("/admin/login/?next=")


@dataclass(frozen=True)
class Probe:
    """One request: ``path`` is formatted with the world's objects (``{course.code}``); ``expect``
    maps every role to its answer; ``defects`` maps a role to the issue-14 defect its cell waits for."""

    path: str
    expect: dict[str, int | Redirect]
    method: str = "get"
    data: dict | None = None
    defects: dict[str, str] = field(default_factory=dict)
    # Text (formatted like ``path``) that the answer to each of ``hidden_from`` must not contain.
    hidden: str = ""
    hidden_from: tuple[str, ...] = ()


def roles(default, **answers) -> dict[str, int | Redirect]:
    """Every role's answer: ``default`` unless named."""
    unknown = set(answers) - set(ROLES)
    assert not unknown, unknown
    return {role: answers.get(role, default) for role in ROLES}


def page(*allowed: str, answer: int | Redirect = 200, **others) -> dict[str, int | Redirect]:
    """A portal page: anonymous to the login page, the allowed roles ``answer``, the rest 403."""
    return roles(403, **{"anonymous": LOGIN, **{role: answer for role in allowed}, **others})


def api(*allowed: str, answer: int = 200, **others) -> dict[str, int | Redirect]:
    """An API endpoint: anonymous 401, the allowed roles ``answer``, the rest 403."""
    return roles(403, **{"anonymous": 401, **{role: answer for role in allowed}, **others})


def api_probe(path: str, expect: dict, **kwargs) -> Probe:
    """An API probe (its anonymous cell expects 401 with ``WWW-Authenticate``)."""
    return Probe(path, expect, **kwargs)


EVERYONE_200 = roles(200)
PEOPLE = ("learner", "other_learner", "teacher", "other_teacher", "staff")
LEARNERS = ("learner", "other_learner")
TEACHERS = ("teacher", "other_teacher")
NON_STAFF = (*LEARNERS, *TEACHERS)

MATRIX: dict[str, list[Probe]] = {
    # --- the project's own pages ----------------------------------------------------------------
    "": [
        Probe(
            "/",
            roles(
                LOGIN,
                anonymous=Redirect("/accounts/login/"),
                learner=Redirect("/learner/"),
                other_learner=Redirect("/learner/"),
                teacher=Redirect("/teacher/"),
                other_teacher=Redirect("/teacher/"),
                staff=Redirect("/dashboard/"),
            ),
        )
    ],
    "health/": [Probe("/health/", EVERYONE_200)],
    "health/live/": [Probe("/health/live/", EVERYONE_200)],
    "accounts/login/": [Probe("/accounts/login/", EVERYONE_200)],
    # Logging out is a POST (Django 5); it answers with the login page's redirect for everyone.
    "accounts/logout/": [Probe("/accounts/logout/", roles(Redirect("/accounts/login/")), method="post")],
    # Password reset is for anyone who cannot log in; a bad reset link shows "expired", not a 404.
    "accounts/password_reset/": [Probe("/accounts/password_reset/", EVERYONE_200)],
    "accounts/password_reset/done/": [Probe("/accounts/password_reset/done/", EVERYONE_200)],
    "accounts/reset/<uidb64>/<token>/": [Probe("/accounts/reset/MQ/bad-token/", EVERYONE_200)],
    "accounts/reset/done/": [Probe("/accounts/reset/done/", EVERYONE_200)],
    # --- teacher portal -------------------------------------------------------------------------
    "teacher/": [Probe("/teacher/", page(*TEACHERS))],
    "teacher/earnings/": [Probe("/teacher/earnings/", page(*TEACHERS))],
    "teacher/courses/": [Probe("/teacher/courses/", page("staff"))],
    # An empty selection sends staff back to the course list.
    "teacher/courses/apply-selected/": [
        Probe("/teacher/courses/apply-selected/", page("staff", answer=Redirect("/teacher/courses/")), "post")
    ],
    "teacher/recommendations/compute/": [
        Probe(
            "/teacher/recommendations/compute/", page("staff", answer=Redirect("/teacher/courses/")), "post"
        )
    ],
    "teacher/recommendations/compute/<int:run_id>/": [
        Probe("/teacher/recommendations/compute/{advice_run.pk}/", page("staff"))
    ],
    "teacher/courses/<str:code>/": [
        Probe("/teacher/courses/{course.code}/", page("teacher", "staff", other_teacher=404)),
        Probe("/teacher/courses/{draft.code}/", page("teacher", "staff", other_teacher=404)),
    ],
    "teacher/courses/<str:code>/what-if/": [
        Probe(
            "/teacher/courses/{course.code}/what-if/?price=120", page("teacher", "staff", other_teacher=404)
        )
    ],
    # Deciding on the course's pending advice: the owner and staff are sent back to the course page.
    "teacher/courses/<str:code>/apply/": [
        Probe(
            "/teacher/courses/{course.code}/apply/",
            page("teacher", "staff", answer=Redirect("/teacher/courses/{course.code}/"), other_teacher=404),
            "post",
            {"recommendation": "{recommendation.pk}"},
        )
    ],
    "teacher/courses/<str:code>/dismiss/": [
        Probe(
            "/teacher/courses/{course.code}/dismiss/",
            page("teacher", "staff", answer=Redirect("/teacher/courses/{course.code}/"), other_teacher=404),
            "post",
            {"recommendation": "{recommendation.pk}"},
        )
    ],
    # --- learner portal -------------------------------------------------------------------------
    "learner/": [Probe("/learner/", page(*LEARNERS))],
    "learner/wallet/": [
        Probe("/learner/wallet/", page(*LEARNERS)),
        # Tokens are bought as packs (its own pages below); the wallet itself only shows.
        Probe("/learner/wallet/", page(*LEARNERS, answer=405), "post"),
    ],
    "learner/courses/": [Probe("/learner/courses/", page(*LEARNERS))],
    "learner/courses/<str:code>/": [
        Probe("/learner/courses/{course.code}/", page(*LEARNERS)),
        Probe("/learner/courses/{draft.code}/", page(*LEARNERS, answer=404)),
    ],
    "learner/courses/<str:code>/enroll/": [
        Probe("/learner/courses/{course.code}/enroll/", page(*LEARNERS)),
        Probe("/learner/courses/{course.code}/enroll/", page(*LEARNERS, answer=400), "post"),
        Probe("/learner/courses/{draft.code}/enroll/", page(*LEARNERS, answer=404)),
    ],
    "learner/offers/": [Probe("/learner/offers/", page(*LEARNERS))],
    # The learner's offer opens its course; another learner's offer is 404.
    "learner/offers/<int:pk>/": [
        Probe(
            "/learner/offers/{offer.pk}/",
            page(*LEARNERS, learner=Redirect("/learner/courses/{course.code}/"), other_learner=404),
        )
    ],
    "learner/recommended/": [Probe("/learner/recommended/", page(*LEARNERS))],
    "learner/my-courses/": [Probe("/learner/my-courses/", page(*LEARNERS))],
    # --- staff dashboard ------------------------------------------------------------------------
    "dashboard/": [Probe("/dashboard/", page("staff"))],
    # No kind named: the dashboard says so and sends staff back to it.
    "dashboard/training/start/": [
        Probe("/dashboard/training/start/", page("staff", answer=Redirect("/dashboard/")), "post")
    ],
    "dashboard/runs/<int:pk>/": [Probe("/dashboard/runs/{run.pk}/", page("staff"))],
    "dashboard/runs/<int:pk>/report/": [Probe("/dashboard/runs/{run.pk}/report/", page("staff"))],
    "dashboard/models/": [Probe("/dashboard/models/", page("staff"))],
    "dashboard/models/<int:pk>/<str:action>/": [
        Probe(
            "/dashboard/models/{model_version.pk}/promote/",
            page("staff", answer=Redirect("/dashboard/models/")),
            "post",
        ),
        Probe("/dashboard/models/{model_version.pk}/explode/", page("staff", answer=404), "post"),
    ],
    "dashboard/data-quality/": [Probe("/dashboard/data-quality/", page("staff"))],
    # --- API: catalog and wallet ----------------------------------------------------------------
    "api/v1/wallet/": [api_probe("/api/v1/wallet/", api(*PEOPLE))],
    "api/v1/wallet/transfers/": [api_probe("/api/v1/wallet/transfers/", api(*PEOPLE))],
    "api/v1/courses/$": [
        api_probe("/api/v1/courses/", api(*PEOPLE)),
        # Asking for drafts: staff and the draft's own teacher see it; everyone else gets a page
        # without it (200).
        api_probe(
            "/api/v1/courses/?status=draft",
            api(*PEOPLE),
            hidden='"{draft.code}"',
            hidden_from=(*LEARNERS, "other_teacher"),
        ),
    ],
    "api/v1/courses\\.(?P<format>[a-z0-9]+)/?$": [api_probe("/api/v1/courses.json", api(*PEOPLE))],
    "api/v1/courses/(?P<code>[^/.]+)/$": [
        api_probe("/api/v1/courses/{course.code}/", api(*PEOPLE)),
        api_probe("/api/v1/courses/NOPE/", api(*PEOPLE, answer=404)),
        api_probe(
            "/api/v1/courses/{draft.code}/",
            # A draft is for staff and its own teacher; to everyone else it is a missing course.
            api("staff", "teacher", learner=404, other_learner=404, other_teacher=404),
        ),
    ],
    "api/v1/courses/(?P<code>[^/.]+)\\.(?P<format>[a-z0-9]+)/?$": [
        api_probe("/api/v1/courses/{course.code}.json", api(*PEOPLE))
    ],
    "api/v1/": [api_probe("/api/v1/", api(*PEOPLE))],
    "api/v1/<drf_format_suffix:format>": [api_probe("/api/v1/.json", api(*PEOPLE))],
    "api/schema/": [Probe("/api/schema/", EVERYONE_200)],
    "api/docs/": [Probe("/api/docs/", EVERYONE_200)],
    # --- API: models ----------------------------------------------------------------------------
    "api/v1/models/": [api_probe("/api/v1/models/", api("staff"))],
    "api/v1/models/<str:name>/elasticities/": [
        # No production model in the world: the allowed roles reach the model lookup (404).
        api_probe("/api/v1/models/demand/elasticities/", api("teacher", "other_teacher", "staff", answer=404))
    ],
    # --- API: pricing ---------------------------------------------------------------------------
    # No model is trained in the world: the owner and staff pass the course check and get the
    # "no model yet" answer (503); another teacher's course is 404 before any model is loaded.
    "api/v1/pricing/optimize/": [
        api_probe(
            "/api/v1/pricing/optimize/",
            api("teacher", "staff", answer=503, other_teacher=404),
            method="post",
            data={"course_id": "{course.code}"},
        ),
        # An empty body is refused with the field named, before any object is looked at.
        api_probe("/api/v1/pricing/optimize/", api(*TEACHERS, "staff", answer=400), method="post", data={}),
    ],
    "api/v1/pricing/predict-enrollments/": [
        api_probe(
            "/api/v1/pricing/predict-enrollments/",
            api("teacher", "staff", answer=503, other_teacher=404),
            method="post",
            data={"course_id": "{course.code}", "prices": [100]},
        )
    ],
    "api/v1/pricing/recommendations/": [
        api_probe("/api/v1/pricing/recommendations/", api(*TEACHERS, "staff"))
    ],
    "api/v1/pricing/recommendations/apply/": [
        api_probe(
            "/api/v1/pricing/recommendations/apply/",
            api("staff"),
            method="post",
            data={"ids": ["{recommendation.pk}"]},
        )
    ],
    "api/v1/pricing/recommendations/<int:pk>/apply/": [
        api_probe(
            "/api/v1/pricing/recommendations/{recommendation.pk}/apply/",
            api("teacher", "staff", other_teacher=404),
            method="post",
        )
    ],
    "api/v1/pricing/recommendations/<int:pk>/dismiss/": [
        api_probe(
            "/api/v1/pricing/recommendations/{recommendation.pk}/dismiss/",
            api("teacher", "staff", other_teacher=404),
            method="post",
        )
    ],
    # --- API: learners --------------------------------------------------------------------------
    "api/v1/learners/<int:learner_id>/propensity/": [
        api_probe("/api/v1/learners/{learner.pk}/propensity/", api("learner", "staff", other_learner=404))
    ],
    "api/v1/learners/<int:learner_id>/recommendations/": [
        api_probe(
            "/api/v1/learners/{learner.pk}/recommendations/", api("learner", "staff", other_learner=404)
        )
    ],
    "api/v1/learners/<int:learner_id>/offers/": [
        api_probe("/api/v1/learners/{learner.pk}/offers/", api("learner", "staff", other_learner=404))
    ],
    "api/v1/pricing/personalized/": [
        api_probe(
            "/api/v1/pricing/personalized/",
            api("learner", "staff", other_learner=404),
            method="post",
            data={"learner_id": "{learner.pk}", "course_id": "{course.code}"},
        ),
        api_probe(
            "/api/v1/pricing/personalized/",
            api("staff", learner=404, other_learner=404),
            method="post",
            data={"learner_id": "{learner.pk}", "course_id": "{draft.code}"},
        ),
    ],
    # --- coupons (issue 16) ---------------------------------------------------------------------
    "teacher/coupons/": [Probe("/teacher/coupons/", page(*TEACHERS))],
    "teacher/coupons/new/": [
        Probe("/teacher/coupons/new/", page(*TEACHERS)),
        # An empty form is refused on the page.
        Probe("/teacher/coupons/new/", page(*TEACHERS, answer=400), "post"),
    ],
    # The coupon is the teacher's: they are sent back to the list, another teacher gets 404.
    "teacher/coupons/<int:pk>/deactivate/": [
        Probe(
            "/teacher/coupons/{coupon.pk}/deactivate/",
            page("teacher", answer=Redirect("/teacher/coupons/"), other_teacher=404),
            "post",
        )
    ],
    "learner/courses/<str:code>/coupon/": [
        Probe("/learner/courses/{course.code}/coupon/", page(*LEARNERS), "post", {"coupon": "{coupon.code}"}),
        # No code: a form error.
        Probe("/learner/courses/{course.code}/coupon/", page(*LEARNERS, answer=400), "post"),
        Probe("/learner/courses/{draft.code}/coupon/", page(*LEARNERS, answer=404), "post", {"coupon": "X"}),
    ],
    "api/v1/coupons/": [
        api_probe("/api/v1/coupons/", api(*TEACHERS, "staff")),
        # An empty body is refused with the fields named.
        api_probe("/api/v1/coupons/", api(*TEACHERS, "staff", answer=400), method="post", data={}),
    ],
    "api/v1/coupons/validate/": [
        api_probe(
            "/api/v1/coupons/validate/",
            api(*LEARNERS),
            method="post",
            data={"code": "{coupon.code}", "course": "{course.code}"},
        ),
        api_probe("/api/v1/coupons/validate/", api(*LEARNERS, answer=400), method="post", data={}),
    ],
    "api/v1/coupons/<int:pk>/": [
        api_probe("/api/v1/coupons/{coupon.pk}/", api("teacher", "staff", other_teacher=404)),
    ],
    # --- buying token packs (learners/views_payments.py) -----------------------------------------
    "learner/wallet/packs/<str:pack>/": [
        Probe("/learner/wallet/packs/regular/", page(*LEARNERS)),
        Probe("/learner/wallet/packs/no-such-pack/", page(*LEARNERS, answer=404)),
        # An empty confirmation (no form token) is refused on the page, nothing ordered.
        Probe("/learner/wallet/packs/regular/", page(*LEARNERS, answer=400), "post"),
    ],
    "learner/wallet/orders/<int:pk>/": [
        Probe("/learner/wallet/orders/{top_up_order.pk}/", page("learner", other_learner=404))
    ],
    "learner/wallet/orders/<int:pk>/pay/": [
        Probe("/learner/wallet/orders/{top_up_order.pk}/pay/", page("learner", other_learner=404)),
        # An empty card form is refused on the page; another learner's order is a 404.
        Probe(
            "/learner/wallet/orders/{top_up_order.pk}/pay/",
            page("learner", answer=400, other_learner=404),
            "post",
        ),
    ],
    "learner/wallet/orders/<int:pk>/cancel/": [
        Probe(
            "/learner/wallet/orders/{top_up_order.pk}/cancel/",
            page("learner", answer=Redirect("/learner/wallet/"), other_learner=404),
            "post",
        ),
        Probe(
            "/learner/wallet/orders/{top_up_order.pk}/cancel/", page("learner", answer=405, other_learner=405)
        ),
    ],
    # Stripe's webhook is public (its signature is the proof): without one it is a 400 for everyone.
    "payments/stripe/webhook/": [
        Probe("/payments/stripe/webhook/", roles(400), "post"),
        Probe("/payments/stripe/webhook/", roles(405)),
    ],
    # --- refunds (issue 16): the world's enrollment is the learner's, bought long ago (no purchase
    # transfer): the learner sees why not and is sent back; staff are told it has nothing to refund.
    "learner/my-courses/<int:pk>/refund/": [
        Probe("/learner/my-courses/{enrollment.pk}/refund/", page("learner", other_learner=404)),
        Probe(
            "/learner/my-courses/{enrollment.pk}/refund/",
            page("learner", answer=Redirect("/learner/my-courses/"), other_learner=404),
            "post",
        ),
    ],
    "api/v1/enrollments/<int:enrollment_id>/refund/": [
        api_probe(
            "/api/v1/enrollments/{enrollment.pk}/refund/",
            api("learner", "staff", learner=400, other_learner=404, staff=409),
            method="post",
        )
    ],
    # What promoting or archiving a version changes, before staff confirm it (issue 15, defect 5).
    "dashboard/models/<int:pk>/<str:action>/confirm/": [
        Probe("/dashboard/models/{model_version.pk}/promote/confirm/", page("staff")),
        Probe("/dashboard/models/{model_version.pk}/archive/confirm/", page("staff")),
        Probe("/dashboard/models/{model_version.pk}/explode/confirm/", page("staff", answer=404)),
    ],
    # --- teacher money (issue 16): earnings, payouts, statements -------------------------------
    # An empty payout form (no key, no amount) is refused on the page for teachers.
    "teacher/earnings/payout/": [Probe("/teacher/earnings/payout/", page(*TEACHERS, answer=400), "post")],
    "teacher/earnings/statement/": [
        Probe("/teacher/earnings/statement/", page(*TEACHERS)),
        Probe("/teacher/earnings/statement/?month=2026-13", page(*TEACHERS, answer=400)),
    ],
    "teacher/earnings/statement.csv": [Probe("/teacher/earnings/statement.csv", page(*TEACHERS))],
    "learner/wallet/statement.csv": [Probe("/learner/wallet/statement.csv", page(*LEARNERS))],
    "dashboard/payouts/": [Probe("/dashboard/payouts/", page("staff"))],
    # Nothing selected: staff are sent back to the queue.
    "dashboard/payouts/approve/": [
        Probe("/dashboard/payouts/approve/", page("staff", answer=Redirect("/dashboard/payouts/")), "post")
    ],
    # The world has no payout request: staff reach the lookup (404).
    "dashboard/payouts/<int:pk>/reject/": [
        Probe("/dashboard/payouts/999999/reject/", page("staff", answer=404), "post", {"reason": "x"})
    ],
    "api/v1/payouts/": [
        api_probe("/api/v1/payouts/", api(*TEACHERS, "staff")),
        # Teachers are told what is missing; staff do not request payouts.
        api_probe("/api/v1/payouts/", api(*TEACHERS, answer=400), method="post", data={}),
    ],
    "api/v1/payouts/<int:pk>/approve/": [
        api_probe("/api/v1/payouts/999999/approve/", api("staff", answer=404), method="post", data={})
    ],
    "api/v1/payouts/<int:pk>/reject/": [
        api_probe(
            "/api/v1/payouts/999999/reject/", api("staff", answer=404), method="post", data={"reason": "x"}
        )
    ],
    "api/v1/earnings/": [
        # Staff must name the teacher (400); a teacher gets their own summary.
        api_probe("/api/v1/earnings/", api(*TEACHERS, staff=400)),
        api_probe("/api/v1/earnings/?teacher={teacher.pk}", api("teacher", "staff", other_teacher=404)),
    ],
    "dashboard/data-quality/rerun/": [
        Probe(
            "/dashboard/data-quality/rerun/",
            page("staff", answer=Redirect("/dashboard/data-quality/")),
            "post",
        ),
        Probe("/dashboard/data-quality/rerun/", roles(405)),
    ],
    # --- a teacher's own price (issue 15): only the course's teacher; an empty form is a form
    # error (400); undo with nothing to undo sends the teacher back to the course page.
    "teacher/courses/<str:code>/price/": [
        Probe(
            "/teacher/courses/{course.code}/price/", page("teacher", answer=400, other_teacher=404), "post"
        ),
        Probe("/teacher/courses/{course.code}/price/", page("teacher", answer=405, other_teacher=405)),
    ],
    "teacher/courses/<str:code>/price/undo/": [
        Probe(
            "/teacher/courses/{course.code}/price/undo/",
            page("teacher", answer=Redirect("/teacher/courses/{course.code}/"), other_teacher=404),
            "post",
        )
    ],
    # Price notices (issue 15): the world has none, so teachers reach the lookup (404); marking
    # all read sends teachers home.
    "teacher/notices/<int:pk>/read/": [
        Probe("/teacher/notices/999999/read/", page(*TEACHERS, answer=404), "post"),
    ],
    "teacher/notices/read-all/": [
        Probe("/teacher/notices/read-all/", page(*TEACHERS, answer=Redirect("/teacher/")), "post"),
    ],
    # Staff "view as" (issue 15): only staff find and start it (a teacher of the world: to the
    # teacher portal; staff cannot view as staff: 400); stopping only drops a session key.
    "view-as/": [Probe("/view-as/", page("staff")), Probe("/view-as/?q=x", page("staff"))],
    "view-as/start/": [
        Probe(
            "/view-as/start/",
            page("staff", answer=Redirect("/teacher/")),
            "post",
            {"user": "{teacher.user.pk}", "portal": "teacher"},
        ),
        Probe(
            "/view-as/start/",
            page("staff", answer=Redirect("/learner/")),
            "post",
            {"user": "{learner.user.pk}", "portal": "learner"},
        ),
        Probe("/view-as/start/", page("staff", answer=400), "post"),
        Probe("/view-as/start/", page("staff", answer=405)),
    ],
    "view-as/stop/": [
        Probe("/view-as/stop/", roles(Redirect("/"), anonymous=LOGIN), "post"),
        Probe("/view-as/stop/", roles(405)),
    ],
    # CSV downloads of the tables shown (issue 15): the staff's price advice (with the page's
    # filters; a bad one is ignored like on the page) and a teacher's own payout requests.
    "teacher/courses.csv": [
        Probe("/teacher/courses.csv", page("staff")),
        Probe("/teacher/courses.csv?teacher=T-NOBODY&confidence=huge", page("staff")),
    ],
    "teacher/earnings/payouts.csv": [Probe("/teacher/earnings/payouts.csv", page(*TEACHERS))],
}
# Django admin, by one rule: staff reach every page (200), everyone else is sent to the admin
# login. The exceptions are keyed by pattern name, or by route for admin's unnamed patterns.
ADMIN_RULE = roles(ADMIN_LOGIN, staff=200)
ADMIN_EXCEPTIONS: dict[str, dict[str, int | Redirect]] = {
    # The login page itself: shown to every non-staff caller, staff are sent on to the index.
    "admin:login": roles(200, staff=Redirect("/admin/")),
    # The autocomplete endpoint without its query parameters.
    "admin:autocomplete": roles(ADMIN_LOGIN, staff=403),
    # The content-type shortcut to a model's site: there is none for the content type used.
    "admin:view_on_site": roles(ADMIN_LOGIN, staff=404),
    # The pricing settings are one row, which the world holds: a second is refused.
    "admin:pricing_pricingsettings_add": roles(ADMIN_LOGIN, staff=403),
    # Admin's catch-all answers an unknown admin URL: 404 for staff.
    "admin/(?P<url>.*)$": roles(ADMIN_LOGIN, staff=404),
}
# Rows that are written only by services (the ledger, enrollments, advice, training runs and the
# registry): the admin refuses to add or delete them, for staff too.
ADMIN_REFUSED = {
    "admin:tokenecon_account_add",
    "admin:tokenecon_account_delete",
    "admin:tokenecon_transfer_add",
    "admin:tokenecon_transfer_delete",
    "admin:tokenecon_entry_add",
    "admin:tokenecon_entry_delete",
    "admin:tokenecon_enrollment_add",
    "admin:pricing_pricerecommendation_add",
    "admin:pricing_pricingsettings_delete",
    "admin:pricing_advicerun_add",
    "admin:analytics_modelversion_add",
    "admin:analytics_pipelinerun_add",
    "admin:learners_offer_add",
    "admin:learners_learnerscore_add",
    # Redemptions refer to a coupon: it is deactivated, never deleted.
    "admin:tokenecon_coupon_delete",
    # django-axes records login attempts itself; the admin only reads them.
    "admin:axes_accessattempt_add",
    "admin:axes_accesslog_add",
    "admin:axes_accessfailurelog_add",
    # Top-up orders and payment events are written by the payment service only.
    "admin:tokenecon_topuporder_add",
    "admin:tokenecon_topuporder_delete",
    "admin:tokenecon_paymentevent_add",
    "admin:tokenecon_paymentevent_delete",
    # Payout requests are made by teachers and decided by actions, never typed in or deleted.
    "admin:tokenecon_payoutrequest_add",
    "admin:tokenecon_payoutrequest_delete",
}
ADMIN_METHODS = {"admin:logout": "post"}
# Logging out of the admin (a POST): non-staff are sent to the admin index (and from there to its
# login), staff to LOGOUT_REDIRECT_URL.
ADMIN_EXCEPTIONS["admin:logout"] = roles(Redirect("/admin/"), staff=Redirect("/accounts/login/"))


def admin_expectation(pattern) -> dict[str, int | Redirect]:
    key = f"admin:{pattern.name}" if pattern.name else pattern.route
    if key in ADMIN_EXCEPTIONS:
        return ADMIN_EXCEPTIONS[key]
    if key in ADMIN_REFUSED:
        return roles(ADMIN_LOGIN, staff=403)
    if not pattern.name and pattern.route.endswith("<path:object_id>/"):
        # Admin's old object URL: staff are sent on to the object's change page.
        return roles(ADMIN_LOGIN, staff=Redirect(pattern.route.split("<")[0].replace("admin/", "/admin/", 1)))
    if {"object_id", "id"} & set(pattern.kwargs) and admin_row(pattern) is None:
        # An object page of a model the world has no row of: staff are sent to the admin index
        # with "does not exist" (the page was reached; the admin login was not asked for).
        return roles(ADMIN_LOGIN, staff=Redirect("/admin/"))
    return ADMIN_RULE


def admin_patterns():
    return [p for p in walk_patterns() if p.namespace == "admin"]


def own_patterns():
    return [p for p in walk_patterns() if p.namespace != "admin"]


# --- the table covers the resolver exactly ------------------------------------------------------


def test_every_url_pattern_has_an_entry():
    routes = [p.route for p in own_patterns()]
    missing = sorted(set(routes) - set(MATRIX))
    extra = sorted(set(MATRIX) - set(routes))
    assert not (missing or extra), (
        f"URL patterns with no row in MATRIX (add one stating each role's answer): {missing}; "
        f"MATRIX rows for URL patterns that no longer exist (remove them): {extra}"
    )
    assert len(routes) == len(set(routes)), "two URL patterns share one route"


def test_every_admin_exception_is_an_admin_pattern():
    keys = {f"admin:{p.name}" if p.name else p.route for p in admin_patterns()}
    unknown = (set(ADMIN_EXCEPTIONS) | ADMIN_REFUSED | set(ADMIN_METHODS)) - keys
    assert not unknown, f"admin exceptions for patterns that no longer exist: {sorted(unknown)}"
    assert len(keys) > 50, "the admin's patterns were not found in the resolver"


# --- the requests -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One world for the module, rolled back at its end; each test's own transaction undoes
    whatever its request wrote."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _health_without_worker_ping(monkeypatch):
    """``/health/`` pings Celery workers for a second; the matrix asks only who may call it."""
    monkeypatch.setattr("tokenecon.views.check_health", lambda: {"status": "ok"})


def fill(text: str, world: dict) -> str:
    return text.format(**world)


def send(client: APIClient, method: str, path: str, data: dict | None, *, api: bool):
    if method == "get":
        return client.get(path)
    if api:
        return client.post(path, data or {}, format="json")
    return client.post(path, data or {})


def check(response, expected: int | Redirect, world: dict, where: str) -> None:
    if isinstance(expected, Redirect):
        target = fill(expected.to, world)
        if response.status_code != 302 or not response["Location"].startswith(target):
            got = f"{response.status_code} {response.get('Location', '')}".strip()
            raise WrongAnswer(f"{where}: {got}, expected 302 to {target}")
    elif response.status_code != expected:
        raise WrongAnswer(f"{where}: {response.status_code}, expected {expected}")
    elif expected == 401 and not response.has_header("WWW-Authenticate"):
        raise WrongAnswer(f"{where}: 401 without WWW-Authenticate")


def matrix_cells():
    for route, probes in MATRIX.items():
        for index, probe in enumerate(probes):
            for role in ROLES:
                marks = []
                if role in probe.defects:
                    marks.append(
                        pytest.mark.xfail(strict=True, raises=WrongAnswer, reason=probe.defects[role])
                    )
                which = f" #{index + 1}" if index else ""
                yield pytest.param(
                    route, index, role, id=f"{probe.method} {probe.path}{which} {role}", marks=marks
                )


@pytest.mark.parametrize(("route", "index", "role"), list(matrix_cells()))
def test_url_answers_each_role_as_the_table_says(world, route, index, role):
    probe = MATRIX[route][index]
    path = fill(probe.path, world)
    assert resolve(path.split("?")[0]).route == route, f"{path} is not served by {route}"
    data = {
        key: fill(value, world) if isinstance(value, str) else value
        for key, value in (probe.data or {}).items()
    }
    data = {
        key: [fill(v, world) if isinstance(v, str) else v for v in value]
        if isinstance(value, list)
        else value
        for key, value in data.items()
    }
    client = api_client_for(world["users"][role])
    response = send(client, probe.method, path, data, api=path.startswith("/api/v1/"))
    where = f"{probe.method.upper()} {path} as {role}"
    check(response, probe.expect[role], world, where)
    if role in probe.hidden_from and fill(probe.hidden, world) in response.content.decode():
        raise WrongAnswer(f"{where}: the answer shows {fill(probe.hidden, world)}")


@pytest.mark.parametrize("path", ["/teacher/", "/learner/", "/dashboard/"])
def test_a_user_without_a_role_gets_no_portal(world, path):
    """A signed-in account that is neither learner, teacher nor staff (a seventh caller)."""
    assert api_client_for(UserFactory()).get(path).status_code == 403


def admin_cells():
    for pattern in admin_patterns():
        for role in ROLES:
            yield pytest.param(pattern, role, id=f"{pattern.route} {role}")


@pytest.mark.parametrize(("pattern", "role"), list(admin_cells()))
def test_admin_url_answers_each_role_by_the_admin_rule(world, pattern, role):
    # Signing in first: it writes rows of its own (django-axes' access log) that pages may be about.
    client = api_client_for(world["users"][role])
    path = path_for(pattern.route, admin_values(pattern))
    expected = admin_expectation(pattern)[role]
    response = send(client, ADMIN_METHODS.get(f"admin:{pattern.name}", "get"), path, None, api=False)
    check(response, expected, world, f"{path} as {role}")
