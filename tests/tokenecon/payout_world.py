"""Teachers with available earnings for the payout tests: a learner buys the teacher's courses
and the refund window passes (``earnings.release_due``), as in production."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.factories import CourseFactory, LearnerFactory, TeacherFactory
from tokenecon.models import Teacher
from tokenecon.services.accounts import top_up_wallet
from tokenecon.services.earnings import release_due
from tokenecon.services.enrollment import purchase_course

BOUGHT_AT = datetime(2026, 3, 2, 10, tzinfo=UTC)
# Past the refund window of every purchase made at BOUGHT_AT.
AFTER_WINDOW = BOUGHT_AT + timedelta(days=30)


def sell(teacher: Teacher, *, price_tokens: int, at: datetime = BOUGHT_AT, course=None):
    """One learner buys one course of the teacher's at ``price_tokens``; returns the enrollment."""
    course = course or CourseFactory(teacher=teacher, price_tokens=price_tokens)
    learner = LearnerFactory()
    tag = uuid.uuid4().hex[:12]
    top_up_wallet(learner=learner, amount_tokens=price_tokens, idempotency_key=f"fund-{tag}", at=at)
    return purchase_course(learner=learner, course=course, idempotency_key=f"buy-{tag}", at=at)


def teacher_with_available(price_tokens: int = 1000, *, sales: int = 1, teacher: Teacher | None = None):
    """A teacher whose ``sales`` purchases at ``price_tokens`` have cleared (80% each is available)."""
    teacher = teacher or TeacherFactory()
    for _ in range(sales):
        sell(teacher, price_tokens=price_tokens)
    release_due(now=AFTER_WINDOW, teacher=teacher)
    return teacher
