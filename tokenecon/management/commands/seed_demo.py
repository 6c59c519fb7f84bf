"""Demo data for `make run`: simulate a marketplace once, then map three demo logins onto it.

Idempotent: with courses already in the database it only makes sure the logins exist.
"""

from datetime import date

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Count
from tqdm import tqdm

from tokenecon.models import Account, AccountKind, Course, Learner, Teacher
from tokenecon.services.accounts import top_up_wallet
from tokenecon.services.people import register_learner, register_teacher
from tokenecon.simulator.config import SimulationConfig
from tokenecon.simulator.service import run_simulation

LOGINS = {
    "admin": "admin-pass-2026",
    "teacher": "teacher-pass-2026",
    "learner": "learner-pass-2026",
}


def _ensure_admin() -> None:
    User = get_user_model()
    user = User.objects.filter(username="admin").first()
    if user is None:
        User.objects.create_superuser(username="admin", email="admin@example.com", password=LOGINS["admin"])
    elif not (user.is_staff and user.is_superuser):
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])


def _claim(user, username: str) -> None:
    """Give a simulated person a demo username and a real password."""
    user.username = username
    user.set_password(LOGINS[username])
    user.save(update_fields=["username", "password"])


def _ensure_teacher() -> None:
    User = get_user_model()
    if User.objects.filter(username="teacher").exists():
        return
    # The simulated teacher with the most courses: a portal with plenty to show.
    teacher = (
        Teacher.objects.filter(user__is_staff=False)
        .annotate(n_courses=Count("courses"))
        .order_by("-n_courses", "external_id")
        .select_related("user")
        .first()
    )
    if teacher is None:
        register_teacher(
            username="teacher", password=LOGINS["teacher"], external_id="TDEMO", display_name="Demo Teacher"
        )
        return
    _claim(teacher.user, "teacher")


def _ensure_learner() -> None:
    User = get_user_model()
    if User.objects.filter(username="learner").exists():
        return
    wallet = (
        Account.objects.filter(
            kind=AccountKind.LEARNER_WALLET, balance_tokens__gte=200, owner__learner__isnull=False
        )
        .order_by("-balance_tokens", "id")
        .select_related("owner")
        .first()
    )
    if wallet is not None:
        _claim(wallet.owner, "learner")
        return
    learner = Learner.objects.select_related("user").order_by("external_id").first()
    if learner is None:
        learner = register_learner(
            username="learner",
            password=LOGINS["learner"],
            external_id="LDEMO",
            joined_on=date.today(),
            country="US",
        )
    else:
        _claim(learner.user, "learner")
    # A wallet that can buy a few courses, issued like any other top-up.
    top_up_wallet(learner=learner, amount_tokens=500, idempotency_key=f"demo-learner-topup-{learner.pk}")


class Command(BaseCommand):
    help = "Seed demo data (the simulator) if there are no courses, and make sure the demo logins exist."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0, help="Simulator scale (1.0 = about 30 s)")
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, scale: float, seed: int, **options):
        if not Course.objects.exists():
            config = SimulationConfig(seed=seed).scaled(scale)
            self.stdout.write(f"No courses yet: simulating a marketplace (scale {scale}) for the demo...")
            with tqdm(total=config.days, unit="day", desc="simulating") as bar:
                result = run_simulation(config=config, progress=bar.update)
            self.stdout.write(
                f"Simulated {result.counts['enrollments']} enrollments in {result.seconds['total']:.0f} s."
            )
        with transaction.atomic():
            _ensure_admin()
            _ensure_teacher()
        _ensure_learner()
        self.stdout.write(self.style.SUCCESS("Demo logins:"))
        for username, password in LOGINS.items():
            self.stdout.write(f"  {username:<8} {password}")
