"""The OpenAPI schema states the limits the server enforces (issue 14, defect 11), including the
answers the API fuzzing found undocumented."""

import pytest

from tests.factories import StaffFactory
from tests.helpers import api_client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return api_client_for(None).get("/api/schema/", {"format": "json"}).json()


def operation(schema, method, path):
    return schema["paths"][path][method]


def test_course_ids_may_not_be_blank(schema):
    components = schema["components"]["schemas"]
    for name in ("OptimizeInput", "PredictInput", "PersonalizedInput"):
        assert components[name]["properties"]["course_id"]["minLength"] == 1, name


def test_prices_are_above_zero_and_at_most_a_hundred_thousand(schema):
    items = schema["components"]["schemas"]["PredictInput"]["properties"]["prices"]["items"]
    assert items["minimum"] == 0
    assert items["exclusiveMinimum"] is True
    assert items["maximum"] == 100_000


def test_ids_stay_inside_the_database_range(schema):
    components = schema["components"]["schemas"]
    assert components["BulkApplyInput"]["properties"]["ids"]["items"]["maximum"] == 2**63 - 1
    assert components["PersonalizedInput"]["properties"]["learner_id"]["maximum"] == 2**63 - 1


def test_k_is_from_one_to_fifty(schema):
    (k,) = [
        p
        for p in operation(schema, "get", "/api/v1/learners/{learner_id}/recommendations/")["parameters"]
        if p["name"] == "k"
    ]
    assert (k["schema"]["minimum"], k["schema"]["maximum"]) == (1, 50)
    assert "400" in operation(schema, "get", "/api/v1/learners/{learner_id}/recommendations/")["responses"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/courses/",
        "/api/v1/wallet/transfers/",
        "/api/v1/pricing/recommendations/",
        "/api/v1/models/",
        "/api/v1/learners/{learner_id}/offers/",
    ],
)
def test_list_endpoints_document_a_bad_filter_and_a_missing_page(schema, path):
    assert {"400", "404"} <= set(operation(schema, "get", path)["responses"])


def test_every_api_operation_documents_401_with_its_header_403_and_429(schema):
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            assert {"401", "403", "429"} <= set(op["responses"]), (method, path)
            assert "WWW-Authenticate" in op["responses"]["401"]["headers"]
            if "requestBody" in op:
                assert "415" in op["responses"], (method, path)


def test_elasticities_of_a_model_not_in_production_is_a_documented_404(schema):
    assert "404" in operation(schema, "get", "/api/v1/models/{name}/elasticities/")["responses"]
    response = api_client_for(StaffFactory()).get("/api/v1/models/nonesuch/elasticities/")
    assert response.status_code == 404


def test_a_body_in_an_unread_content_type_is_a_documented_415(schema):
    response = api_client_for(StaffFactory()).post(
        "/api/v1/pricing/personalized/", data="<xml/>", content_type="application/xml"
    )
    assert response.status_code == 415
    assert "415" in operation(schema, "post", "/api/v1/pricing/personalized/")["responses"]
