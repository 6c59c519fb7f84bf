"""Every page and endpoint that exists, against every role."""

import pytest

from tests.factories import CourseFactory, LearnerFactory, StaffFactory, TeacherFactory, UserFactory
from tests.helpers import api_client_for

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "learner", "teacher", "staff"]


@pytest.fixture
def people():
    return {
        "anonymous": None,
        "learner": LearnerFactory().user,
        "teacher": TeacherFactory().user,
        "staff": StaffFactory(),
    }


PAGES = {
    # path: expected status per role (302 = sent to a login page, 401 = the API asks for a token)
    "/teacher/": {"anonymous": 302, "learner": 403, "teacher": 200, "staff": 403},
    "/learner/": {"anonymous": 302, "learner": 200, "teacher": 403, "staff": 403},
    "/dashboard/": {"anonymous": 302, "learner": 403, "teacher": 403, "staff": 200},
    "/admin/": {"anonymous": 302, "learner": 302, "teacher": 302, "staff": 200},
    "/admin/tokenecon/transfer/": {"anonymous": 302, "learner": 302, "teacher": 302, "staff": 200},
    "/accounts/login/": {"anonymous": 200, "learner": 200, "teacher": 200, "staff": 200},
    "/api/docs/": {"anonymous": 200, "learner": 200, "teacher": 200, "staff": 200},
    "/api/schema/": {"anonymous": 200, "learner": 200, "teacher": 200, "staff": 200},
    "/api/v1/courses/": {"anonymous": 401, "learner": 200, "teacher": 200, "staff": 200},
    "/api/v1/wallet/": {"anonymous": 401, "learner": 200, "teacher": 200, "staff": 200},
    "/api/v1/wallet/transfers/": {"anonymous": 401, "learner": 200, "teacher": 200, "staff": 200},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", list(PAGES))
def test_page_access_by_role(people, role, path):
    CourseFactory()
    response = api_client_for(people[role]).get(path)
    assert response.status_code == PAGES[path][role], (path, role)
    if response.status_code == 302:
        assert "login" in response["Location"]


@pytest.mark.parametrize(
    ("role", "landing"),
    [
        ("anonymous", "/accounts/login/"),
        ("learner", "/learner/"),
        ("teacher", "/teacher/"),
        ("staff", "/dashboard/"),
    ],
)
def test_home_sends_each_role_to_its_landing_page(people, role, landing):
    response = api_client_for(people[role]).get("/")
    assert response.status_code == 302
    assert response["Location"] == landing


def test_course_detail_requires_login_and_404s_for_unknown_code(people):
    course = CourseFactory()
    assert api_client_for(people["anonymous"]).get(f"/api/v1/courses/{course.code}/").status_code == 401
    assert api_client_for(people["learner"]).get(f"/api/v1/courses/{course.code}/").status_code == 200
    assert api_client_for(people["learner"]).get("/api/v1/courses/NOPE/").status_code == 404


def test_user_without_role_sees_no_portal():
    client = api_client_for(UserFactory())
    assert client.get("/teacher/").status_code == 403
    assert client.get("/learner/").status_code == 403
    assert client.get("/dashboard/").status_code == 403
