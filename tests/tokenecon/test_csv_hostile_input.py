"""CSV import under hostile input (issue 14, defect 9): a file cut off inside a quoted value,
rows with several problems at once, and digits that are not ASCII."""

import pytest

from tests.factories import LearnerFactory, TeacherFactory
from tests.tokenecon.test_csv_import import load_catalog, problems_of
from tokenecon.csv_io import CsvValidationError, import_csv
from tokenecon.models import Learner, Teacher
from tokenecon.services.accounts import wallet_of

pytestmark = pytest.mark.django_db

UNCLOSED_QUOTE = "the value that starts here has no closing quote: the file is cut off or a quote is missing"


# --- a file cut off inside a quoted value -------------------------------------------------------


def test_a_last_row_cut_off_inside_a_quoted_value_is_refused_with_its_line():
    text = 'external_id,display_name,bio\nT1,One,fine\nT2,Two,"cut off\n'
    assert problems_of("teachers", text) == [(3, "", UNCLOSED_QUOTE)]
    with pytest.raises(CsvValidationError):
        import_csv(kind="teachers", source=text)
    assert not Teacher.objects.exists()


def test_a_cut_off_file_without_a_final_newline_is_refused():
    text = 'external_id,display_name,bio\nT1,One,"cut'
    assert problems_of("teachers", text) == [(2, "", UNCLOSED_QUOTE)]


def test_an_unclosed_quote_in_a_middle_row_names_the_row_it_starts_on():
    # The quote swallows every later line into one value: the row it opens is the one to fix.
    text = 'external_id,display_name,bio\nT1,One,"oops\nT2,Two,x\nT3,Three,y\n'
    assert problems_of("teachers", text) == [(2, "", UNCLOSED_QUOTE)]


def test_text_after_a_closing_quote_is_refused():
    text = 'external_id,display_name\nT1,"One"x\n'
    assert problems_of("teachers", text) == [
        (2, "", 'text after a closing quote (a quote inside a quoted value is written "")')
    ]


def test_quoted_values_with_doubled_quotes_and_newlines_still_import():
    text = 'external_id,display_name,bio\nT1,"One ""the first""","two\nlines"\n'
    import_csv(kind="teachers", source=text)
    teacher = Teacher.objects.get(external_id="T1")
    assert (teacher.display_name, teacher.bio) == ('One "the first"', "two\nlines")


# --- every problem of a row ---------------------------------------------------------------------


def test_a_row_with_a_field_error_still_gets_its_foreign_key_checked():
    TeacherFactory(external_id="T1")
    text = (
        "code,title,teacher_id,category,difficulty,duration_hours,launch_date,price_tokens\n"
        "C1,Bad,T-NOBODY,programming,beginner,10,2024-02-30,100\n"
    )
    assert problems_of("courses", text) == [
        (2, "launch_date", "not a date (use YYYY-MM-DD)"),
        (2, "teacher_id", "unknown teacher (no teacher with this external id)"),
    ]


def test_an_enrollment_with_a_field_error_lists_its_foreign_key_and_cross_column_problems():
    load_catalog()
    text = (
        "enrollment_id,learner_id,course_code,enrolled_at,list_price_tokens,price_paid_tokens,"
        "status,progress_pct,completed_at,rating\n"
        "E1,L-NOBODY,C-NOTHING,2024-06-01T10:00:00Z,100,150,completed,50,,nine\n"
    )
    assert problems_of("enrollments", text) == [
        (2, "completed_at", "required for a completed enrollment"),
        (2, "course_code", "unknown course (no course with this code)"),
        (2, "learner_id", "unknown learner (no learner with this external id)"),
        (2, "price_paid_tokens", "paid above the list price 100"),
        (2, "progress_pct", "a completed enrollment has progress 100"),
        (2, "rating", "not a whole number"),
    ]


def test_cross_column_rules_run_only_on_the_columns_that_parsed():
    load_catalog()
    text = (
        "enrollment_id,learner_id,course_code,enrolled_at,list_price_tokens,price_paid_tokens\n"
        "E1,L00001,C00001,2024-06-01T10:00:00Z,lots,150\n"
    )
    # The list price did not parse, so "paid above the list price" cannot be judged.
    assert problems_of("enrollments", text) == [(2, "list_price_tokens", "not a whole number")]


def test_activity_with_a_bad_number_still_gets_its_learner_and_course_checked():
    text = "learner_id,day,course_code,minutes\nL-NOBODY,2024-06-01,C-NOTHING,-5\n"
    assert problems_of("activity", text) == [
        (2, "course_code", "unknown course (no course with this code)"),
        (2, "learner_id", "unknown learner (no learner with this external id)"),
        (2, "minutes", "negative"),
    ]


# --- ASCII digits only --------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["５０", "٥٠", "५०", "５0"])
def test_whole_numbers_accept_ascii_digits_only(text):
    csv_text = f"external_id,display_name,quality_score\nT1,One,{text}\n"
    assert problems_of("teachers", csv_text) == [(2, "quality_score", "not a whole number")]


@pytest.mark.parametrize("text", ["１２.５", "12.５", "١٢"])
def test_decimals_accept_ascii_digits_only(text):
    TeacherFactory(external_id="T1")
    csv_text = (
        "code,title,teacher_id,category,difficulty,duration_hours,launch_date,price_tokens\n"
        f"C1,One,T1,programming,beginner,{text},2024-02-01,100\n"
    )
    assert problems_of("courses", csv_text) == [(2, "duration_hours", "not a number")]


def test_a_full_width_wallet_funding_credits_nothing():
    LearnerFactory(external_id="L1")
    text = "external_id,joined_on,country,tokens_funded\nL1,2024-05-01,DE,１００\n"
    with pytest.raises(CsvValidationError, match="not a whole number"):
        import_csv(kind="learners", source=text)
    assert wallet_of(Learner.objects.get(external_id="L1")).balance_tokens == 0


def test_ascii_numbers_with_sign_and_decimals_still_parse():
    text = "external_id,display_name,quality_score,years_experience\nT1,One,+50,0\n"
    import_csv(kind="teachers", source=text)
    assert Teacher.objects.get(external_id="T1").quality_score == 50
