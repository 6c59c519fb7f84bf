"""The upsert engine on a kind declared here, not one of the product's: what any new kind gets."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import LearnerActivityFactory, LearnerFactory
from tokenecon.csv_io import CsvProblem
from tokenecon.csv_io.importing.engine import Upsert, UpsertKind
from tokenecon.csv_io.importing.references import LEARNER
from tokenecon.csv_io.schemas import Column, Schema, parse_csv
from tokenecon.models import LearnerActivity

pytestmark = pytest.mark.django_db

# Minutes and forum posts of a learner on a day: a kind the product does not have.
DAILY = Schema(
    kind="daily",
    key=("learner_id", "day"),
    summary="Minutes and posts per learner and day.",
    columns=(
        Column("learner_id", "str", True, "External id of an existing learner", max_length=32),
        Column("day", "date", True, "Day"),
        Column("minutes", "int", False, "Minutes", min_value=0, max_value=1440, default=0),
        Column("forum_posts", "int", False, "Posts", min_value=0, default=0),
    ),
)
DAILY_KIND = UpsertKind(model=LearnerActivity, key=("learner_id", "day"), foreign_keys=(LEARNER,))


def planned(text: str) -> Upsert:
    upsert = Upsert(parse_csv(DAILY, text), declaration=DAILY_KIND)
    upsert.plan()
    return upsert


def test_a_declared_kind_reports_unknown_foreign_keys_and_duplicate_keys_with_line_and_column():
    LearnerFactory(external_id="L1")
    upsert = planned("learner_id,day,minutes\nL1,2025-03-01,10\nNOBODY,2025-03-01,5\nL1,2025-03-01,20\n")
    assert sorted(upsert.problems) == [
        CsvProblem(3, "learner_id", "NOBODY", "unknown learner (no learner with this external id)"),
        CsvProblem(4, "learner_id+day", "L1, 2025-03-01", "duplicate id within the file (first on line 2)"),
    ]


def test_a_declared_kind_creates_new_keys_with_defaults_for_absent_columns():
    learner = LearnerFactory(external_id="L1")
    upsert = planned("learner_id,day,minutes\nL1,2025-03-01,10\n")
    upsert.write()
    assert (upsert.result.created, upsert.result.updated, upsert.result.unchanged) == (1, 0, 0)
    activity = LearnerActivity.objects.get()
    assert (activity.learner_id, activity.day, activity.minutes, activity.forum_posts) == (
        learner.pk,
        date(2025, 3, 1),
        10,
        0,
    )


def test_a_declared_kind_updates_only_changed_fields_and_keeps_absent_columns():
    learner = LearnerFactory(external_id="L1")
    stored = LearnerActivityFactory(learner=learner, day=date(2025, 3, 1), minutes=10, forum_posts=3)
    upsert = planned("learner_id,day,minutes\nL1,2025-03-01,25\n")
    assert upsert.update_fields == {"minutes"}
    upsert.write()
    assert (upsert.result.created, upsert.result.updated, upsert.result.unchanged) == (0, 1, 0)
    stored.refresh_from_db()
    assert (stored.minutes, stored.forum_posts) == (25, 3)


def test_a_declared_kind_leaves_unchanged_rows_unwritten():
    learner = LearnerFactory(external_id="L1")
    LearnerActivityFactory(learner=learner, day=date(2025, 3, 1), minutes=10, forum_posts=3)
    upsert = planned("learner_id,day,minutes,forum_posts\nL1,2025-03-01,10,3\n")
    with CaptureQueriesContext(connection) as queries:
        upsert.write()
    assert (upsert.result.created, upsert.result.updated, upsert.result.unchanged) == (0, 0, 1)
    assert not [q for q in queries if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))]
