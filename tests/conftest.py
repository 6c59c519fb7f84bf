import pytest

from tests.factories import CourseFactory, LearnerFactory, StaffFactory, TeacherFactory


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
