import pytest

from tokenecon.simulator.config import SimulationConfig
from tokenecon.simulator.service import run_simulation

SMALL = SimulationConfig(
    learners=500, teachers=20, courses=100, enrollments=800, days=120, truth_replications=40
)


@pytest.fixture
def small_run(db, tmp_path):
    """A small simulation in the test database, with its truth file under tmp_path."""
    return run_simulation(config=SMALL, truth_path=tmp_path / "truth.joblib")
