"""Scoring feeds the production models exactly the features training builds: the same learners,
the same columns, the same values for one cut-off (no training/serving skew)."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from learners.ml.snapshot import FEATURES
from learners.ml.training import snapshot
from learners.services import scoring
from learners.services.model_source import ProductionModel
from tests.factories import LearnerFactory, build_marketplace

pytestmark = pytest.mark.django_db


class RecordingModel:
    """Stands in for a production model and keeps what it was asked to score."""

    def __init__(self):
        self.seen: list[pd.DataFrame] = []

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        self.seen.append(features.copy())
        return np.full(len(features), 0.5)


@pytest.mark.parametrize("cutoff", [date(2025, 3, 3), None])
def test_scoring_feeds_the_models_the_features_training_builds(monkeypatch, cutoff):
    build_marketplace()
    LearnerFactory(joined_on=date(2030, 1, 1))  # joined after every cut-off: in neither
    models = {name: RecordingModel() for name in scoring.MODELS.values()}
    monkeypatch.setattr(
        scoring,
        "production_model",
        lambda name: ProductionModel(
            name=name, version=1, algorithm="test", artifact=models.get(name, RecordingModel())
        ),
    )
    tables = scoring.load_tables()
    cutoff = cutoff or scoring.data_as_of(tables)

    scores, _ = scoring.compute_scores(tables, cutoff=cutoff)

    trained_on, _ = snapshot(tables, cutoff)
    assert len(trained_on) > 0 and list(trained_on.columns) == FEATURES
    for model in models.values():
        (served,) = model.seen
        pd.testing.assert_frame_equal(served, trained_on)
    assert list(scores.index) == list(trained_on.index)
