"""API fuzzing (issue 14): schemathesis against the app's own OpenAPI schema, as staff, a teacher
and a learner.

Every operation of ``/api/schema/`` gets a bounded number of generated requests (valid and
invalid ones, deterministic so CI runs the same cases) through the WSGI app, on a small world
with a production demand model. Real ids (course codes, learner ids, recommendation ids, model
names) are mixed into the generated ones, so requests reach past 404 to the services. Each
answer must be no 5xx, a documented status code, the documented content type, and a body that
matches the documented schema. The counts per role are printed at the end of the module.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from pricing.models import PriceRecommendation
from tests.factories import CourseFactory, LearnerScoreFactory, OfferFactory, StaffFactory
from tests.pricing.db_world import trained_world
from tokenecon.models import Course, Learner, Teacher

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

ROLES = ["staff", "teacher", "learner"]
# Per operation and role: 16 operations x 3 roles x 15 (about 1,500 requests) stays under three minutes.
EXAMPLES = 15
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

COUNTS: dict[str, Counter] = defaultdict(Counter)


@pytest.fixture(scope="module")
def fuzz_world(django_db_setup, django_db_blocker):
    """A committed small world with a production demand model and stored advice, a token for each
    role, and the real ids each role may use (their own, and others' that must answer 404)."""
    with django_db_blocker.unblock(), trained_world(seed=5, n_courses=40, weeks=30):
        teacher = Teacher.objects.filter(courses__isnull=False).order_by("pk").first()
        learner = Learner.objects.filter(enrollments__isnull=False).order_by("pk").first()
        other_learner = Learner.objects.exclude(pk=learner.pk).order_by("pk").first()
        own_courses = list(teacher.courses.order_by("code").values_list("code", flat=True)[:4])
        other_courses = list(Course.objects.exclude(teacher=teacher).values_list("code", flat=True)[:4])
        draft = CourseFactory(teacher=teacher, status=Course.Status.DRAFT).code
        LearnerScoreFactory(learner=learner)
        OfferFactory(learner=learner, course=Course.objects.get(code=other_courses[0]))
        recommendations = list(
            PriceRecommendation.objects.filter(course__teacher=teacher).values_list("pk", flat=True)[:3]
        ) + list(
            PriceRecommendation.objects.exclude(course__teacher=teacher).values_list("pk", flat=True)[:3]
        )
        users = {"staff": StaffFactory(), "teacher": teacher.user, "learner": learner.user}
        tokens = {role: Token.objects.create(user=user).key for role, user in users.items()}
        yield {
            "tokens": tokens,
            "course": [*own_courses, *other_courses, draft],
            "learner": [learner.pk, other_learner.pk],
            "recommendation": recommendations,
            "name": ["demand", "propensity"],
        }


@pytest.fixture(scope="module")
def wsgi_app(fuzz_world):
    """The project's WSGI app, keeping the test's database connection across requests (as
    Django's test client does) so each role's run stays inside its rolled-back transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def api_schema(wsgi_app, fuzz_world):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app)

    def flatmap_case(context, case):
        return with_real_ids(case, fuzz_world)

    schema.hook(flatmap_case)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        with_security_parameters=False,
        deterministic=True,
    )
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


# Where real ids go: path parameters by name, and body fields by name.
PATH_IDS = {"code": "course", "learner_id": "learner", "id": "recommendation", "name": "name"}
BODY_IDS = {"course_id": "course", "learner_id": "learner"}


def id_slots(case, world) -> list[tuple[str, object, list]]:
    """Where a real id could replace a generated value: (place, key, the real ids)."""
    slots = [
        ("path", name, world[kind])
        for name, kind in PATH_IDS.items()
        if case.path_parameters and name in case.path_parameters
    ]
    if isinstance(case.body, dict):
        slots += [("body", name, world[kind]) for name, kind in BODY_IDS.items() if name in case.body]
        if isinstance(case.body.get("ids"), list):
            slots += [("ids", index, world["recommendation"]) for index in range(len(case.body["ids"]))]
    return slots


def with_real_ids(case, world):
    """A strategy of the generated case with each id slot a real id or left as generated, so
    most requests reach the service behind the 404 and some keep the fuzzed value."""
    slots = id_slots(case, world)
    if not slots:
        return st.just(case)
    places = {
        "path": case.path_parameters,
        "body": case.body,
        "ids": case.body.get("ids") if isinstance(case.body, dict) else None,
    }
    choices = [st.one_of(st.sampled_from(real), st.just(places[place][key])) for place, key, real in slots]

    def apply(values):
        for (place, key, _real), value in zip(slots, values, strict=True):
            places[place][key] = value
        return case

    return st.tuples(*choices).map(apply)


def fuzzing_as(role: str):
    """The fuzzing test for one role (one pytest test per role; each operation is a subtest)."""

    @schema.parametrize()
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def test(case, fuzz_world):
        response = case.call_and_validate(
            headers={"Authorization": f"Token {fuzz_world['tokens'][role]}"}, checks=CHECKS
        )
        COUNTS[role]["examples"] += 1
        COUNTS[role][f"status {response.status_code}"] += 1
        COUNTS[role][f"operation {case.operation.label}"] += 1
        if response.status_code < 300:
            COUNTS[role][f"reached {case.operation.label}"] += 1

    return test


test_api_as_staff = fuzzing_as("staff")
test_api_as_teacher = fuzzing_as("teacher")
test_api_as_learner = fuzzing_as("learner")


def test_fuzzing_report():
    """Prints what the fuzzing covered per role (run with ``-s`` to see it)."""
    for role in ROLES:
        counts = COUNTS[role]
        operations = sum(1 for key in counts if key.startswith("operation "))
        statuses = {
            key.split()[1]: value for key, value in sorted(counts.items()) if key.startswith("status ")
        }
        reached = sum(1 for key in counts if key.startswith("reached "))
        print(
            f"fuzzing {role}: {operations} operations ({reached} answered 2xx), "
            f"{counts['examples']} examples, statuses {statuses}"
        )
