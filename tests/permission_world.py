"""What the permission matrix needs besides its table: every URL pattern the project serves, read
from the resolver, and one world of real objects owned by the six callers so a request reaches
its object check (another teacher's course, another learner's id) instead of stopping at a 404
for a missing row."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth.models import Group
from django.urls import URLPattern, URLResolver, get_resolver

from tests.factories import (
    AdviceRunFactory,
    CouponFactory,
    CourseFactory,
    EnrollmentFactory,
    LearnerActivityFactory,
    LearnerFactory,
    LearnerScoreFactory,
    ModelVersionFactory,
    OfferFactory,
    PipelineRunFactory,
    PriceChangeFactory,
    PriceRecommendationFactory,
    PricingSettingsFactory,
    StaffFactory,
    TeacherFactory,
    TopUpOrderFactory,
)

ROLES = ("anonymous", "learner", "other_learner", "teacher", "other_teacher", "staff")


@dataclass(frozen=True)
class Pattern:
    """One URL pattern: its full route (the resolver's patterns joined, the matrix's key), its
    namespaced name, and the names of its keyword arguments."""

    route: str
    name: str
    namespace: str
    kwargs: tuple[str, ...]


ARGUMENT = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>|\(\?P<(?P<group>\w+)>[^)]*\)")


def walk_patterns(patterns=None, prefix: str = "", namespace: str = "") -> Iterator[Pattern]:
    """Every pattern of the URL configuration, descending into every include (admin's, the API
    router's, each portal's)."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        # Joined as Django's ResolverMatch.route joins them (a regex's leading "^" dropped).
        route = prefix + str(entry.pattern).removeprefix("^")
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}" if namespace and entry.namespace else entry.namespace
            yield from walk_patterns(entry.url_patterns, route, inner or namespace)
        elif isinstance(entry, URLPattern):
            names = tuple(m.group("name") or m.group("group") for m in ARGUMENT.finditer(route))
            yield Pattern(route=route, name=entry.name or "", namespace=namespace, kwargs=names)


def path_for(route: str, values: dict[str, str]) -> str:
    """The request path for a route with each argument replaced by its value (regex routes from
    the API router and the admin included)."""

    def value(match: re.Match) -> str:
        return str(values[match.group("name") or match.group("group")])

    path = ARGUMENT.sub(value, route)
    path = path.replace("^", "").replace("$", "").replace("\\.", ".").replace("/?", "/")
    return "/" + path


def build_world() -> dict:
    """The callers and the objects the URLs point at. "teacher" owns ``course``, ``draft`` and the
    pending ``recommendation``; "other_teacher" owns ``other_course``; "learner" has the
    ``offer`` and a score; "other_learner" nothing of theirs is asked for."""
    teacher, other_teacher = TeacherFactory(), TeacherFactory()
    learner, other_learner = LearnerFactory(), LearnerFactory()
    course = CourseFactory(teacher=teacher)
    draft = CourseFactory(teacher=teacher, status="draft")
    other_course = CourseFactory(teacher=other_teacher)
    users = {
        "anonymous": None,
        "learner": learner.user,
        "other_learner": other_learner.user,
        "teacher": teacher.user,
        "other_teacher": other_teacher.user,
        "staff": StaffFactory(),
    }
    return {
        "users": users,
        "teacher": teacher,
        "learner": learner,
        "course": course,
        "draft": draft,
        "other_course": other_course,
        "recommendation": PriceRecommendationFactory(course=course),
        "offer": OfferFactory(learner=learner, course=course),
        "score": LearnerScoreFactory(learner=learner),
        "run": PipelineRunFactory(),
        "model_version": ModelVersionFactory(name="demand"),
        "advice_run": AdviceRunFactory(),
        # Rows for the admin's object pages (the ledger's rows are written only through its
        # durable services, which cannot run inside the module's transaction).
        "enrollment": EnrollmentFactory(learner=learner, course=other_course),
        "price_change": PriceChangeFactory(course=course),
        "activity": LearnerActivityFactory(learner=learner),
        "pricing_settings": PricingSettingsFactory(),
        "group": Group.objects.create(name="reviewers"),
        "coupon": CouponFactory(course=course, code="WORLD20"),
        # A demo-provider order of "learner" awaiting payment (buying token packs).
        "top_up_order": TopUpOrderFactory(learner=learner),
    }


def admin_row(pattern: Pattern):
    """The first row of the model an admin pattern is for (``admin/<app>/<model>/...``), if any."""
    parts = pattern.route.split("/")
    try:
        model = apps.get_model(parts[1], parts[2])
    except (IndexError, LookupError, ValueError):
        return None
    return model.objects.order_by("pk").first()


def admin_values(pattern: Pattern) -> dict[str, str]:
    """Arguments for one admin pattern: a real row of the pattern's model where it asks for an
    object, so staff reach the object's page."""
    row = admin_row(pattern) if "object_id" in pattern.kwargs or "id" in pattern.kwargs else None
    values = {
        "app_label": "tokenecon",
        "object_id": row.pk if row is not None else 1,
        "id": row.pk if row is not None else 1,
        "content_type_id": 1,
        "url": "no-such-page/",
    }
    return {name: values[name] for name in pattern.kwargs}
