"""Words people read: articles, plurals and who is speaking."""

import pytest
from django.contrib import admin

from learners.ml.propensity import choose
from tokenecon.models import LearnerActivity
from tokenecon.simulator.writer import with_article


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("advanced course in design.", "An advanced course in design."),
        ("intermediate course in music.", "An intermediate course in music."),
        ("beginner course in python.", "A beginner course in python."),
    ],
)
def test_simulated_descriptions_take_the_right_article(phrase, expected):
    assert with_article(phrase) == expected


def test_admin_names_learner_activity_without_a_made_up_plural():
    assert LearnerActivity._meta.verbose_name_plural == "learner activity"
    assert LearnerActivity in admin.site._registry


def test_the_selection_rule_shown_in_reports_does_not_repeat_its_own_label():
    assert not choose.__doc__.lower().startswith("the rule")
