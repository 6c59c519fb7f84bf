"""Scoring all learners split across two real Celery workers (a chord over learner-id chunks)
stores the same scores as one process scoring everyone."""

import pandas as pd
import pytest
from celery.result import AsyncResult
from django_celery_results.models import TaskResult

from learners.models import LearnerScore
from learners.services import scoring
from learners.tasks import score_learners
from tests.celery_worker import celery_workers
from tests.learners.test_scoring_chunks import build_learners, register_feature_models, stored_scores

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.broker, pytest.mark.slow]


def test_scores_split_across_two_workers_equal_the_single_process_scores():
    build_learners(48)
    register_feature_models()
    single = scoring.score_all_learners()
    expected = stored_scores()
    LearnerScore.objects.all().delete()

    with celery_workers(2) as names:
        queued = score_learners(chunk_size=6)  # the coordinating task, run here; chunks go to the workers
        assert queued["queued_chunks"] == 8
        merged = AsyncResult(queued["result_id"]).get(timeout=180)

    pd.testing.assert_frame_equal(stored_scores(), expected)
    scores = merged["scores"]
    assert scores.pop("chunks") == 8
    assert scores == single
    workers = set(
        TaskResult.objects.filter(task_name="learners.score_learner_chunk").values_list("worker", flat=True)
    )
    assert workers == set(names), workers  # both workers took chunks
