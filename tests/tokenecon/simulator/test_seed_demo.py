import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from tests.factories import CourseFactory
from tokenecon.models import Account, AccountKind, Course

DEMO_LOGINS = {"admin": "admin-pass-2026", "teacher": "teacher-pass-2026", "learner": "learner-pass-2026"}


def user(username: str):
    return get_user_model().objects.get(username=username)


def test_seed_demo_simulates_once_and_maps_the_demo_logins(db, settings, tmp_path):
    settings.DEBUG = True  # as `make run` has it
    settings.ARTIFACTS_DIR = tmp_path
    call_command("seed_demo", "--scale", "0.02", verbosity=0)
    courses = Course.objects.count()
    assert courses > 0
    for username, password in DEMO_LOGINS.items():
        assert user(username).check_password(password), username
    admin = user("admin")
    assert admin.is_staff and admin.is_superuser
    assert user("teacher").teacher.courses.exists()
    wallet = Account.objects.get(kind=AccountKind.LEARNER_WALLET, owner=user("learner"))
    assert wallet.balance_tokens >= 200

    call_command("seed_demo", verbosity=0)
    assert Course.objects.count() == courses


def test_seed_demo_on_data_without_people_creates_the_logins(db, settings, tmp_path):
    settings.DEBUG = True
    settings.ARTIFACTS_DIR = tmp_path
    CourseFactory()
    call_command("seed_demo", verbosity=0)
    assert user("learner").check_password(DEMO_LOGINS["learner"])
    assert user("teacher").check_password(DEMO_LOGINS["teacher"])


def test_seed_demo_without_debug_refuses_the_passwords_written_in_the_repository(db, settings):
    settings.DEBUG = False
    CourseFactory()
    with pytest.raises(CommandError, match="--generate-passwords"):
        call_command("seed_demo", verbosity=0)
    assert not get_user_model().objects.filter(username__in=DEMO_LOGINS).exists()


def test_seed_demo_without_debug_generates_and_prints_passwords(db, settings, capsys):
    settings.DEBUG = False
    CourseFactory()
    call_command("seed_demo", "--generate-passwords")
    printed = dict(re.findall(r"^\s+(admin|teacher|learner)\s+(\S+)$", capsys.readouterr().out, re.M))
    assert printed.keys() == DEMO_LOGINS.keys()
    for username, password in printed.items():
        assert password != DEMO_LOGINS[username] and len(password) >= 20
        assert user(username).check_password(password)
    assert user("admin").is_superuser
