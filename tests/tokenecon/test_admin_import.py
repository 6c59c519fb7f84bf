"""The admin's CSV import offers to import only a file that would change something."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import TeacherFactory

ADMIN_URL = "/admin/csv-import/"
HEADER = "external_id,display_name,email,quality_score,years_experience,joined_on\n"
ROW = "T00001,Ada Lovelace,ada@example.com,90,12,2024-01-15\n"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_upload_dir(tmp_path, monkeypatch):
    monkeypatch.setattr("tokenecon.admin_import.UPLOAD_DIR", tmp_path / "uploads")


def preview(client, text: str):
    file = SimpleUploadedFile("teachers.csv", text.encode(), content_type="text/csv")
    return client.post(ADMIN_URL, {"kind": "teachers", "file": file, "preview": "Preview"})


def test_a_header_only_file_is_not_offered_for_import(admin_client):
    page = preview(admin_client, HEADER)
    assert page.status_code == 200
    assert "confirm_form" not in page.context
    assert "Confirm import" not in page.content.decode()
    assert "no rows: there is nothing to import" in page.content.decode()


def test_a_file_that_changes_nothing_is_not_offered_for_import(admin_client):
    first = preview(admin_client, HEADER + ROW)
    assert "Confirm import" in first.content.decode(), first.context.get("problems")
    token = first.context["confirm_form"].initial["token"]
    admin_client.post(ADMIN_URL, {"kind": "teachers", "token": token, "confirm": "1"})
    again = preview(admin_client, HEADER + ROW)
    assert "Confirm import" not in again.content.decode()
    assert "importing would change nothing" in again.content.decode()
    assert TeacherFactory._meta.model.objects.count() == 1
