from django.contrib.auth import authenticate
from django.core.management import call_command

from tests.factories import CourseFactory
from tokenecon.models import Account, AccountKind, Course


def test_seed_demo_simulates_once_and_maps_the_demo_logins(db, settings, tmp_path):
    settings.ARTIFACTS_DIR = tmp_path
    call_command("seed_demo", "--scale", "0.02", verbosity=0)
    courses = Course.objects.count()
    assert courses > 0
    for username, password in (
        ("admin", "admin-pass-2026"),
        ("teacher", "teacher-pass-2026"),
        ("learner", "learner-pass-2026"),
    ):
        assert authenticate(username=username, password=password) is not None, username
    admin = authenticate(username="admin", password="admin-pass-2026")
    assert admin.is_staff and admin.is_superuser
    teacher = authenticate(username="teacher", password="teacher-pass-2026")
    assert teacher.teacher.courses.exists()
    learner = authenticate(username="learner", password="learner-pass-2026")
    wallet = Account.objects.get(kind=AccountKind.LEARNER_WALLET, owner=learner)
    assert wallet.balance_tokens >= 200

    call_command("seed_demo", verbosity=0)
    assert Course.objects.count() == courses


def test_seed_demo_on_data_without_people_creates_the_logins(db, settings, tmp_path):
    settings.ARTIFACTS_DIR = tmp_path
    CourseFactory()
    call_command("seed_demo", verbosity=0)
    assert authenticate(username="learner", password="learner-pass-2026") is not None
    assert authenticate(username="teacher", password="teacher-pass-2026") is not None
