"""Put the synthetic demand world into the database, fast, for pipeline and page tests.

Enrollments are bulk-inserted without ledger transfers: these tests are about demand models,
and the ledger has its own tests.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from django.contrib.auth import get_user_model
from django.core.management import call_command

from analytics.services.pipeline import start_pipeline_run
from analytics.services.registry import clear_model_cache
from pricing.models import AdviceRun
from pricing.services.advice import run_advice_recompute
from tests.pricing.synthetic import synthetic_tables
from tokenecon.models import Course, Enrollment, Learner, PriceChange, Teacher


def load_synthetic_world(*, n_courses: int = 150, weeks: int = 30, seed: int = 0) -> dict:
    courses, changes, enrollments, truth, start, end = synthetic_tables(
        n_courses=n_courses, weeks=weeks, seed=seed
    )
    User = get_user_model()
    n_teachers = max(1, n_courses // 10)
    users = User.objects.bulk_create([User(username=f"world-t{i}") for i in range(n_teachers)])
    teachers = Teacher.objects.bulk_create(
        [
            Teacher(user=u, external_id=f"WT{i:04d}", display_name=f"Teacher {i}", quality_score=int(q))
            for i, (u, q) in enumerate(zip(users, courses["teacher_quality"][:n_teachers], strict=False))
        ]
    )
    course_rows = Course.objects.bulk_create(
        [
            Course(
                code=row.code,
                title=f"Course {row.code}",
                teacher=teachers[i % n_teachers],
                category=row.category,
                difficulty=row.difficulty,
                duration_hours=row.duration_hours,
                certificate_offered=bool(row.certificate_offered),
                launch_date=row.launch_date,
                price_tokens=int(row.price_tokens),
            )
            for i, row in enumerate(courses.itertuples())
        ]
    )
    id_of = {synthetic: real.pk for synthetic, real in zip(courses["course_id"], course_rows, strict=True)}
    PriceChange.objects.bulk_create(
        [
            PriceChange(
                course_id=id_of[row.course_id],
                effective_at=row.effective_at,
                old_price_tokens=None
                if row.old_price_tokens != row.old_price_tokens
                else int(row.old_price_tokens),
                new_price_tokens=int(row.new_price_tokens),
                source="manual",
            )
            for row in changes.itertuples()
        ]
    )
    per_course = enrollments.groupby("course_id").size()
    n_learners = int(per_course.max()) + 5
    learner_users = User.objects.bulk_create([User(username=f"world-l{i}") for i in range(n_learners)])
    learners = Learner.objects.bulk_create(
        [
            Learner(user=u, external_id=f"WL{i:05d}", joined_on=start, country="DE")
            for i, u in enumerate(learner_users)
        ]
    )
    rng = np.random.default_rng(seed)
    rows = []
    for course_id, group in enrollments.groupby("course_id"):
        chosen = rng.choice(n_learners, size=len(group), replace=False)
        price = int(courses.loc[courses["course_id"] == course_id, "price_tokens"].iloc[0])
        for learner_index, when in zip(chosen, group["enrolled_at"], strict=True):
            rows.append(
                Enrollment(
                    learner=learners[learner_index],
                    course_id=id_of[course_id],
                    enrolled_at=when,
                    list_price_tokens=price,
                    price_paid_tokens=price,
                )
            )
    Enrollment.objects.bulk_create(rows, batch_size=2000)
    truth = truth.assign(course_id=truth["course_id"].map(id_of))
    return {"truth": truth, "start": start, "end": end, "courses": course_rows}


@contextmanager
def trained_world(*, seed: int, n_courses: int = 60, weeks: int = 30, advice: bool = True):
    """A committed synthetic world with a production demand model (and stored price advice);
    everything is flushed afterwards. For module-scoped fixtures inside ``django_db_blocker.unblock()``."""
    load_synthetic_world(n_courses=n_courses, weeks=weeks, seed=seed)
    clear_model_cache()
    run = start_pipeline_run(kind="demand", sync=True, params={"bootstrap_reps": 2, "cv_folds": 2})
    assert run.status == "succeeded", run.error
    # The promotion queued an advice recompute (no worker runs it in tests): run it here, as a
    # worker would, or drop it when the world is to have no advice.
    for queued in AdviceRun.objects.filter(status=AdviceRun.Status.QUEUED):
        if advice:
            run_advice_recompute(run_id=queued.pk)
        else:
            queued.delete()
    try:
        yield run
    finally:
        call_command("flush", "--noinput", verbosity=0)
        clear_model_cache()
