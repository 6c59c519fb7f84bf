import io
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import override_settings

from tests.factories import CourseFactory, LearnerFactory, TeacherFactory
from tests.helpers import signed_in
from tests.ledger_checks import assert_ledger_consistent
from tokenecon import admin_import
from tokenecon.csv_io import CsvValidationError, import_csv, preview_import
from tokenecon.models import (
    Account,
    AccountKind,
    Course,
    Enrollment,
    EnrollmentStatus,
    Learner,
    LearnerActivity,
    PriceChange,
    Teacher,
    Transfer,
    TransferKind,
)
from tokenecon.services.accounts import earnings_of, top_up_wallet, wallet_of
from tokenecon.services.ledger import platform_account
from tokenecon.services.rates import split_commission

pytestmark = pytest.mark.django_db

TEACHERS = """external_id,display_name,email,quality_score,years_experience,joined_on
T00001,Ada Lovelace,ada@example.com,90,12,2024-01-15
T00002,Alan Turing,,75,3,
"""
COURSES = """\
code,title,teacher_id,category,difficulty,duration_hours,launch_date,price_tokens,certificate_offered
C00001,Python basics,T00001,programming,beginner,12.5,2024-02-01,100,true
C00002,Statistics,T00002,data_science,intermediate,20,2024-03-01,250,false
"""
LEARNERS = """external_id,joined_on,country,age_group,education,acquisition_channel
L00001,2024-05-01,DE,25_34,master,organic
L00002,2024-05-02,US,,,
"""
ENROLLMENTS = """\
enrollment_id,learner_id,course_code,enrolled_at,list_price_tokens,price_paid_tokens,discount_pct,\
status,progress_pct,completed_at,rating
E1,L00001,C00001,2024-06-01T10:00:00+00:00,100,90,10,completed,100,2024-07-01T10:00:00+00:00,5
E2,L00001,C00002,2024-06-02T10:00:00Z,250,250,0,active,40,,
E3,L00002,C00001,2024-06-03T10:00:00,100,100,0,refunded,0,,
"""


def load_catalog() -> None:
    import_csv(kind="teachers", source=TEACHERS)
    import_csv(kind="courses", source=COURSES)
    import_csv(kind="learners", source=LEARNERS)


def problems_of(kind: str, text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(CsvValidationError) as caught:
        import_csv(kind=kind, source=text)
    return [(p.line, p.column, p.reason) for p in caught.value.problems]


# --- people and catalog -------------------------------------------------------------------------


def test_teacher_import_creates_users_with_unusable_passwords_and_earnings_accounts():
    result = import_csv(kind="teachers", source=TEACHERS)
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    ada = Teacher.objects.get(external_id="T00001")
    assert (
        ada.display_name == "Ada Lovelace" and ada.quality_score == 90 and ada.joined_on == date(2024, 1, 15)
    )
    assert ada.user.username == "T00001" and ada.user.email == "ada@example.com"
    assert not ada.user.has_usable_password()
    assert Account.objects.filter(kind=AccountKind.TEACHER_EARNINGS, owner=ada.user).exists()


def test_reimporting_the_same_files_changes_nothing():
    load_catalog()
    import_csv(kind="enrollments", source=ENROLLMENTS)
    snapshot = (
        list(get_user_model().objects.values()),
        list(Course.objects.values()),
        list(Enrollment.objects.values()),
        Transfer.objects.count(),
    )
    for kind, text in [
        ("teachers", TEACHERS),
        ("courses", COURSES),
        ("learners", LEARNERS),
        ("enrollments", ENROLLMENTS),
    ]:
        result = import_csv(kind=kind, source=text)
        assert (result.created, result.updated, result.transfers) == (0, 0, 0), kind
    after = (
        list(get_user_model().objects.values()),
        list(Course.objects.values()),
        list(Enrollment.objects.values()),
        Transfer.objects.count(),
    )
    assert after == snapshot


def test_changed_rows_are_updated_and_unchanged_rows_are_counted():
    load_catalog()
    changed = COURSES.replace("Statistics,T00002", "Statistics II,T00001")
    result = import_csv(kind="courses", source=changed)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    course = Course.objects.get(code="C00002")
    assert course.title == "Statistics II" and course.teacher.external_id == "T00001"


def test_absent_optional_columns_keep_stored_values_on_update():
    load_catalog()
    import_csv(kind="teachers", source="external_id,display_name\nT00001,Ada King\n")
    ada = Teacher.objects.get(external_id="T00001")
    assert ada.display_name == "Ada King" and ada.quality_score == 90 and ada.user.email == "ada@example.com"


# --- malformed files ----------------------------------------------------------------------------


def test_wrong_types_are_reported_with_line_column_and_reason_and_nothing_is_written():
    text = (
        "external_id,display_name,quality_score,years_experience,joined_on\n"
        "T1,Good,50,1,2024-01-01\n"
        "T2,Bad score,high,1,2024-01-01\n"
        "T3,Bad date,50,1,2024-13-01\n"
        "T4,Out of range,101,-2,\n"
    )
    assert problems_of("teachers", text) == [
        (3, "quality_score", "not a whole number"),
        (4, "joined_on", "not a date (use YYYY-MM-DD)"),
        (5, "quality_score", "above the maximum 100"),
        (5, "years_experience", "negative"),
    ]
    assert not Teacher.objects.exists()
    assert not get_user_model().objects.exists()


def test_missing_required_column_and_unknown_column_are_reported_on_the_header_line():
    problems = problems_of("learners", "external_id,country,shoe_size\nL1,DE,42\n")
    assert (1, "joined_on", "missing required column") in problems
    assert (1, "shoe_size", "unknown column for learners") in problems
    assert not Learner.objects.exists()


def test_blank_required_value_bad_enum_and_bad_country_are_reported():
    text = "external_id,joined_on,country,age_group\n,2024-01-01,DE,\nL2,2024-01-01,germany,teen\n"
    assert problems_of("learners", text) == [
        (2, "external_id", "required value is blank"),
        (3, "age_group", "not one of under_18, 18_24, 25_34, 35_44, 45_plus"),
        (3, "country", "not a two-letter upper-case country code"),
    ]


def test_duplicate_ids_within_the_file_name_the_first_line():
    text = "external_id,display_name\nT1,One\nT2,Two\nT1,One again\n"
    assert problems_of("teachers", text) == [
        (4, "external_id", "duplicate id within the file (first on line 2)")
    ]


def test_unknown_foreign_keys_are_reported_and_nothing_is_written():
    TeacherFactory(external_id="T00001")
    text = (
        "code,title,teacher_id,category,difficulty,duration_hours,launch_date,price_tokens\n"
        "C1,Fine,T00001,programming,beginner,10,2024-01-01,100\n"
        "C2,Orphan,T99999,programming,beginner,10,2024-01-01,100\n"
    )
    assert problems_of("courses", text) == [
        (3, "teacher_id", "unknown teacher (no teacher with this external id)")
    ]
    assert not Course.objects.exists()


@override_settings(TOKEN_PRICE_MIN=10, TOKEN_PRICE_MAX=500)
def test_negative_and_out_of_range_prices_are_rejected():
    TeacherFactory(external_id="T00001")
    text = (
        "code,title,teacher_id,category,difficulty,duration_hours,launch_date,price_tokens\n"
        "C1,Negative,T00001,programming,beginner,10,2024-01-01,-5\n"
        "C2,Too dear,T00001,programming,beginner,10,2024-01-01,501\n"
        "C3,Too cheap,T00001,programming,beginner,10,2024-01-01,9\n"
        "C4,Fraction,T00001,programming,beginner,10.25,2024-01-01,12.5\n"
    )
    assert problems_of("courses", text) == [
        (2, "price_tokens", "negative"),
        (3, "price_tokens", "above the maximum 500"),
        (4, "price_tokens", "below the minimum 10"),
        (5, "duration_hours", "more than 1 decimal places"),
        (5, "price_tokens", "not a whole number"),
    ]


def test_enrollment_business_rules_are_checked_per_row():
    load_catalog()
    text = (
        "enrollment_id,learner_id,course_code,enrolled_at,list_price_tokens,price_paid_tokens,status,"
        "progress_pct,completed_at\n"
        "E1,L00001,C00001,2024-06-01T10:00:00Z,100,120,active,0,\n"
        "E2,L00001,C00002,2024-06-01T10:00:00Z,250,250,completed,100,2024-05-01T00:00:00Z\n"
        "E3,L00002,C00001,2024-06-01T10:00:00Z,100,100,completed,80,\n"
        "E4,L00009,C00009,2024-06-01T10:00:00Z,100,100,active,0,\n"
        "E5,L00002,C00002,not-a-time,100,100,active,0,\n"
        "E6,L00002,C00002,2024-06-01T10:00:00Z,100,100,paused,0,\n"
    )
    assert problems_of("enrollments", text) == [
        (2, "price_paid_tokens", "paid above the list price 100"),
        (3, "completed_at", "completion before enrollment"),
        (4, "completed_at", "required for a completed enrollment"),
        (4, "progress_pct", "a completed enrollment has progress 100"),
        (5, "course_code", "unknown course (no course with this code)"),
        (5, "learner_id", "unknown learner (no learner with this external id)"),
        (6, "enrolled_at", "not a date-time (use ISO 8601, e.g. 2025-01-31T14:05:00+00:00)"),
        (7, "status", "not one of active, completed, dropped, refunded"),
    ]
    assert not Enrollment.objects.exists()
    assert not Transfer.objects.filter(kind=TransferKind.PURCHASE).exists()


def test_second_live_enrollment_of_the_same_learner_and_course_is_rejected():
    load_catalog()
    text = ENROLLMENTS + "E4,L00001,C00001,2024-08-01T10:00:00Z,100,100,0,active,0,,\n"
    assert problems_of("enrollments", text) == [
        (
            5,
            "course_code",
            "learner already enrolled in this course on line 2 "
            "(only one enrollment that is not refunded is allowed)",
        )
    ]


def test_an_imported_purchase_cannot_be_changed():
    load_catalog()
    import_csv(kind="enrollments", source=ENROLLMENTS)
    changed = ENROLLMENTS.replace("250,250,0,active", "250,200,20,active")
    reason = "cannot change an enrollment already paid through the ledger"
    assert problems_of("enrollments", changed) == [
        (3, "discount_pct", f"{reason} (stored: 0.00)"),
        (3, "price_paid_tokens", f"{reason} (stored: 250)"),
    ]
    assert Enrollment.objects.get(external_id="E2").price_paid_tokens == 250


def test_multiline_quoted_values_report_the_line_the_row_starts_on():
    text = 'external_id,display_name,bio,quality_score\nT1,One,"two\nlines",50\nT2,Two,,abc\n'
    assert problems_of("teachers", text) == [(4, "quality_score", "not a whole number")]


def test_a_row_with_too_many_fields_is_reported():
    assert problems_of("teachers", "external_id,display_name\nT1,One,extra\n") == [
        (2, "", "row has 3 fields, the header has 2")
    ]


def test_every_problem_of_a_large_file_is_listed():
    rows = "".join(f"T{i},Name,not-a-number\n" for i in range(150))
    problems = problems_of("teachers", "external_id,display_name,quality_score\n" + rows)
    assert len(problems) == 150


# --- enrollments through the ledger -------------------------------------------------------------


def test_enrollment_import_pays_through_the_ledger_with_import_top_ups():
    load_catalog()
    result = import_csv(kind="enrollments", source=ENROLLMENTS)
    assert result.created == 3
    ada = Learner.objects.get(external_id="L00001")
    e1 = Enrollment.objects.get(external_id="E1")
    assert e1.status == EnrollmentStatus.COMPLETED and e1.price_paid_tokens == 90 and e1.rating == 5
    purchase = Transfer.objects.get(enrollment=e1, kind=TransferKind.PURCHASE)
    assert purchase.created_at == e1.enrolled_at
    top_up = Transfer.objects.get(idempotency_key="csv-import-topup-E1")
    assert top_up.kind == TransferKind.TOP_UP and "import top-up" in top_up.memo
    # The wallet was empty: each purchase was topped up by exactly its price.
    assert wallet_of(ada).balance_tokens == 0
    teacher_share, platform_share = split_commission(paid_tokens=90)
    assert (
        earnings_of(Teacher.objects.get(external_id="T00002")).balance_tokens
        == split_commission(paid_tokens=250)[0]
    )
    # E3 was refunded: bought, then reversed; the refund returns the tokens to the wallet.
    e3 = Enrollment.objects.get(external_id="E3")
    refund = Transfer.objects.get(enrollment=e3, kind=TransferKind.REFUND)
    assert refund.reverses.kind == TransferKind.PURCHASE
    assert wallet_of(Learner.objects.get(external_id="L00002")).balance_tokens == 100
    assert earnings_of(Teacher.objects.get(external_id="T00001")).balance_tokens == teacher_share
    revenue = platform_account(AccountKind.PLATFORM_REVENUE).balance_tokens
    assert revenue == platform_share + split_commission(paid_tokens=250)[1]
    assert_ledger_consistent()


def test_enrollment_import_uses_existing_wallet_tokens_before_topping_up():
    load_catalog()
    ada = Learner.objects.get(external_id="L00001")
    top_up_wallet(learner=ada, amount_tokens=300, idempotency_key="own-money")
    import_csv(kind="enrollments", source=ENROLLMENTS)
    assert wallet_of(ada).balance_tokens == 300 - 90 - 250 + 40
    assert (
        Transfer.objects.get(idempotency_key="csv-import-topup-E2")
        .entries.get(account=wallet_of(ada))
        .amount_tokens
        == 40
    )
    assert_ledger_consistent()


def test_marking_an_imported_enrollment_refunded_posts_one_refund():
    load_catalog()
    import_csv(kind="enrollments", source=ENROLLMENTS)
    refunded = ENROLLMENTS.replace("250,250,0,active,40", "250,250,0,refunded,40")
    result = import_csv(kind="enrollments", source=refunded)
    assert (result.updated, result.transfers) == (1, 1)
    assert Enrollment.objects.get(external_id="E2").status == EnrollmentStatus.REFUNDED
    assert wallet_of(Learner.objects.get(external_id="L00001")).balance_tokens == 250
    again = import_csv(kind="enrollments", source=refunded)
    assert (again.updated, again.transfers) == (0, 0)
    assert_ledger_consistent()


def test_reinstating_a_refunded_enrollment_is_rejected():
    load_catalog()
    import_csv(kind="enrollments", source=ENROLLMENTS)
    problems = problems_of("enrollments", ENROLLMENTS.replace("refunded,0", "active,0"))
    assert problems == [(4, "status", "a refunded enrollment cannot be reinstated")]


def test_learner_funding_column_tops_up_only_the_difference():
    load_catalog()
    text = "external_id,joined_on,country,tokens_funded\nL00001,2024-05-01,DE,500\n"
    result = import_csv(kind="learners", source=text)
    assert (result.updated, result.transfers) == (1, 1)
    ada = Learner.objects.get(external_id="L00001")
    assert wallet_of(ada).balance_tokens == 500
    assert import_csv(kind="learners", source=text).transfers == 0
    import_csv(kind="learners", source=text.replace("500", "300"))
    assert wallet_of(ada).balance_tokens == 500, "the import never takes tokens back"
    import_csv(kind="learners", source=text.replace("500", "650"))
    assert wallet_of(ada).balance_tokens == 650
    assert_ledger_consistent()


# --- price history and activity -----------------------------------------------------------------


def test_price_history_is_keyed_by_course_and_time():
    course = CourseFactory(code="C1", price_tokens=120)
    text = (
        "course_code,effective_at,new_price_tokens,old_price_tokens,source,note\n"
        "C1,2024-01-01T00:00:00Z,100,,initial,\n"
        "C1,2024-03-01T00:00:00Z,120,100,manual,raise\n"
    )
    assert import_csv(kind="price_history", source=text).created == 2
    result = import_csv(kind="price_history", source=text.replace("raise", "raised"))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    assert PriceChange.objects.filter(course=course).count() == 2
    course.refresh_from_db()
    assert course.price_tokens == 120
    bad = text + "C1,2024-01-01T00:00:00+00:00,90,,initial,\nC2,2024-01-01,90,,initial,\n"
    assert problems_of("price_history", bad) == [
        (4, "course_code+effective_at", "duplicate id within the file (first on line 2)"),
        (5, "course_code", "unknown course (no course with this code)"),
    ]


def test_activity_upserts_by_learner_day_and_course_including_no_course():
    learner = LearnerFactory(external_id="L1")
    CourseFactory(code="C1")
    text = (
        "learner_id,day,course_code,minutes,lessons_completed\nL1,2024-01-01,C1,30,1\nL1,2024-01-01,,15,0\n"
    )
    assert import_csv(kind="activity", source=text).created == 2
    result = import_csv(kind="activity", source=text.replace("15,0", "20,0"))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    assert LearnerActivity.objects.get(learner=learner, course=None).minutes == 20
    assert problems_of("activity", text + "L1,2024-01-01,,5,0\n")[0][:2] == (4, "learner_id+day+course_code")


# --- preview and command ------------------------------------------------------------------------


def test_preview_counts_creates_and_updates_and_writes_nothing():
    TeacherFactory(external_id="T00001", display_name="Old name")
    result = preview_import(kind="teachers", source=TEACHERS)
    assert (result.created, result.updated, result.problems) == (1, 1, [])
    assert Teacher.objects.count() == 1
    assert Teacher.objects.get().display_name == "Old name"


def test_import_command_prints_every_problem_and_exits_non_zero(tmp_path):
    path = tmp_path / "teachers.csv"
    path.write_text("external_id,display_name,quality_score\nT1,One,x\nT1,Two,5\n")
    stderr = io.StringIO()
    with pytest.raises(CommandError, match="2 problem"):
        call_command("import_csv", "teachers", str(path), stderr=stderr)
    output = stderr.getvalue()
    assert "quality_score" in output and "not a whole number" in output
    assert "duplicate id within the file (first on line 2)" in output
    assert not Teacher.objects.exists()


def test_import_command_reports_counts(tmp_path):
    path = tmp_path / "teachers.csv"
    path.write_text(TEACHERS)
    stdout = io.StringIO()
    call_command("import_csv", "teachers", str(path), stdout=stdout)
    assert "2 created, 0 updated, 0 unchanged" in stdout.getvalue()


# --- the admin import view ----------------------------------------------------------------------

ADMIN_URL = "/admin/csv-import/"


@pytest.fixture(autouse=True)
def private_upload_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(admin_import, "UPLOAD_DIR", tmp_path / "uploads")


def upload(client, kind: str, text: str):
    file = SimpleUploadedFile(f"{kind}.csv", text.encode(), content_type="text/csv")
    return client.post(ADMIN_URL, {"kind": kind, "file": file, "preview": "Preview"})


def test_admin_index_links_to_the_import(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert ADMIN_URL in page and "/dashboard/data-quality/" in page


def test_admin_import_is_for_staff_only(client):
    assert client.get(ADMIN_URL).status_code == 302
    assert (
        signed_in(client, LearnerFactory().user).get(ADMIN_URL).status_code == 302
    )  # the admin sends non-staff to its login


def test_admin_preview_then_confirm_imports_the_file(admin_client):
    TeacherFactory(external_id="T00001", display_name="Old name")
    preview = upload(admin_client, "teachers", TEACHERS)
    assert preview.status_code == 200
    assert preview.context["result"].created == 1 and preview.context["result"].updated == 1
    assert "Confirm import" in preview.content.decode()
    assert Teacher.objects.count() == 1
    token = preview.context["confirm_form"].initial["token"]
    done = admin_client.post(ADMIN_URL, {"kind": "teachers", "token": token, "confirm": "1"}, follow=True)
    assert "Imported teachers: 1 created, 1 updated" in done.content.decode()
    assert Teacher.objects.get(external_id="T00001").display_name == "Ada Lovelace"
    assert Teacher.objects.count() == 2
    again = admin_client.post(ADMIN_URL, {"kind": "teachers", "token": token, "confirm": "1"}, follow=True)
    assert "no longer available" in again.content.decode()


def test_admin_preview_shows_every_error_and_offers_no_confirm(admin_client):
    response = upload(
        admin_client, "teachers", "external_id,display_name,quality_score\nT1,One,x\nT1,Two,5\n"
    )
    page = response.content.decode()
    assert "2 problems in the teachers file" in page
    assert "not a whole number" in page and "duplicate id within the file (first on line 2)" in page
    assert "Confirm import" not in page
    assert not Teacher.objects.exists()


def test_admin_confirm_revalidates_and_writes_nothing_when_the_data_changed(admin_client):
    load_catalog()
    preview = upload(admin_client, "enrollments", ENROLLMENTS)
    token = preview.context["confirm_form"].initial["token"]
    Course.objects.filter(code="C00002").update(code="C09999")
    response = admin_client.post(ADMIN_URL, {"kind": "enrollments", "token": token, "confirm": "1"})
    assert "unknown course" in response.content.decode()
    assert not Enrollment.objects.exists()
