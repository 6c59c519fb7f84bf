"""Scoring split into learner-id chunks gives every learner the score the one-process run gives:
each learner in exactly one chunk, and features that compare a learner with the others (the
category's mean price, the price-sensitivity ranks) computed against everyone, not the chunk."""

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from analytics.services.registry import clear_model_cache, write_artifact
from learners.models import LearnerScore
from learners.services import scoring
from tests.factories import CourseFactory, LearnerActivityFactory, LearnerFactory, ModelVersionFactory
from tokenecon.services.accounts import top_up_wallet
from tokenecon.services.enrollment import purchase_course

pytestmark = pytest.mark.django_db

# Every stored column of a score: the four probabilities and the rest.
SCORE_FIELDS = [*scoring.MODELS, "price_sensitivity", "segment", "churn_risk", "scored_at", "model_versions"]


class FeatureModel:
    """A production model whose probability moves with every feature (so a feature built from a
    chunk instead of everyone changes the score). Module-level, so a worker can unpickle it."""

    def __init__(self, seed: int):
        self.weights = np.random.default_rng(seed).normal(size=31)

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        z = np.log1p(np.abs(features.to_numpy())) @ self.weights[: features.shape[1]]
        return 1 / (1 + np.exp(-z / 5))


def register_feature_models() -> None:
    for seed, name in enumerate([*scoring.MODELS.values(), "price_sensitivity"]):
        version = ModelVersionFactory.build(name=name, stage="production", algorithm="test")
        write_artifact(FeatureModel(seed), relative=version.artifact_path)
        version.save()
    clear_model_cache()


def build_learners(n: int = 36, *, seed: int = 3) -> None:
    """Learners with different budgets, purchases in two categories at different prices, and
    activity, so every feature and every sensitivity signal varies between them."""
    rng = np.random.default_rng(seed)
    courses = [
        CourseFactory(category=category, price_tokens=int(price))
        for category, price in [("programming", 40), ("programming", 120), ("music", 60), ("music", 200)]
    ]
    start = datetime(2025, 1, 5, 10, tzinfo=UTC)
    for i in range(n):
        learner = LearnerFactory(joined_on=date(2025, 1, 1) + timedelta(days=int(rng.integers(0, 20))))
        top_up_wallet(
            learner=learner, amount_tokens=int(rng.integers(50, 600)), idempotency_key=f"t{i}", at=start
        )
        for j, course in enumerate(courses):
            if rng.random() < 0.5:
                try:
                    purchase_course(
                        learner=learner,
                        course=course,
                        idempotency_key=f"p{i}-{j}",
                        discount_pct=int(rng.choice([0, 0, 10, 20])),
                        at=start + timedelta(days=int(rng.integers(1, 60))),
                    )
                except Exception:  # noqa: BLE001 - a learner out of tokens simply buys less
                    pass
        for _ in range(int(rng.integers(0, 6))):
            LearnerActivityFactory(
                learner=learner, course=None, day=date(2025, 2, 1) + timedelta(days=int(rng.integers(0, 40)))
            )
    LearnerFactory(joined_on=date(2030, 1, 1))  # joined after the cut-off: scored by neither run


def stored_scores() -> pd.DataFrame:
    rows = LearnerScore.objects.values("learner_id", *SCORE_FIELDS)
    return pd.DataFrame.from_records(list(rows)).set_index("learner_id").sort_index()


def test_chunked_scoring_scores_every_learner_once_with_the_unchunked_result():
    build_learners()
    register_feature_models()
    whole = scoring.score_all_learners()
    expected = stored_scores()
    LearnerScore.objects.all().delete()

    plan = scoring.plan_scoring(chunk_size=7)
    ids = [i for chunk in plan.chunks for i in chunk]
    assert len(plan.chunks) > 2 and len(ids) == len(set(ids)) == whole["scored"] == len(expected)
    assert set(ids) == set(expected.index)
    assert plan.cutoff == scoring.data_as_of(scoring.load_tables())
    summaries = [scoring.score_learner_chunk(learner_ids=chunk, cutoff=plan.cutoff) for chunk in plan.chunks]

    pd.testing.assert_frame_equal(stored_scores(), expected)
    merged = scoring.merge_chunk_summaries(summaries)
    assert merged.pop("chunks") == len(plan.chunks)
    assert merged == whole


def test_a_chunk_compares_its_learners_with_everyone_not_with_the_chunk():
    build_learners()
    register_feature_models()
    tables = scoring.load_tables()
    cutoff = scoring.data_as_of(tables)
    everyone, _ = scoring.compute_scores(tables, cutoff=cutoff)
    some = list(everyone.index[:5])
    chunk, _ = scoring.compute_scores(tables, cutoff=cutoff, learner_ids=some)
    pd.testing.assert_frame_equal(chunk, everyone.loc[some])


def test_plan_of_no_learners_is_empty_and_chunk_size_is_positive():
    assert scoring.plan_scoring(chunk_size=5).chunks == []
    with pytest.raises(ValueError):
        scoring.plan_scoring(chunk_size=0)
