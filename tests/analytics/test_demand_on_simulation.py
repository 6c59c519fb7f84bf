"""The demand pipeline on simulated data, scored against the simulator's truth (another seed and
size than the defaults)."""

import pytest
from django.test import override_settings

from analytics.models import PipelineRun
from analytics.services.pipeline import start_pipeline_run
from analytics.services.registry import clear_model_cache
from tokenecon.simulator.config import SimulationConfig
from tokenecon.simulator.service import run_simulation

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_selected_model_beats_the_naive_regression_on_another_seed_and_size(tmp_path):
    truth_path = tmp_path / "truth.joblib"
    config = SimulationConfig(seed=7, truth_replications=20).scaled(0.25)
    with override_settings(SIMULATOR_TRUTH_PATH=str(truth_path)):
        run_simulation(config=config, truth_path=truth_path)
        clear_model_cache()
        run = start_pipeline_run(kind="demand", sync=True, params={"bootstrap_reps": 0})
        assert run.status == PipelineRun.Status.SUCCEEDED, run.error
        evaluation = run.report["evaluation"]
        selected = evaluation["selected_truth"]
        assert all(
            e < 0
            for e in run.report["evaluation"]["candidates"][evaluation["selected"]][
                "category_elasticities"
            ].values()
        )
        # At a quarter of the default size the noise is larger than at default scale (bench_demand).
        assert selected["category_mae"] < 0.25
        assert evaluation["naive_truth_mae"] > 1.0 > selected["category_mae"] * 4
