import pytest

from pricing.services.bundles import clear_pairs_cache
from tests.factories import CourseFactory, LearnerFactory, StaffFactory, TeacherFactory


@pytest.fixture(autouse=True)
def _fresh_co_enrollment_cache():
    """Rolled-back tests can reuse ids, so the newest-id signature could match other data."""
    clear_pairs_cache()
    yield
    clear_pairs_cache()


@pytest.fixture
def teacher(db):
    return TeacherFactory()


@pytest.fixture
def learner(db):
    return LearnerFactory()


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def course(teacher):
    return CourseFactory(teacher=teacher)
