"""Demo data for `make run`: simulate a marketplace once, then map three demo logins onto it.

Idempotent: with courses already in the database it only makes sure the logins exist (an
existing login keeps its password). The documented passwords below are public, so they are used
only with DEBUG on (`make run`); without DEBUG the command refuses unless told to generate
random passwords, which it prints once.
"""

import secrets
from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Count
from tqdm import tqdm

from tokenecon.models import Account, AccountKind, Course, Learner, Teacher
from tokenecon.services.accounts import top_up_wallet
from tokenecon.services.people import register_learner, register_teacher
from tokenecon.simulator.config import SimulationConfig
from tokenecon.simulator.service import run_simulation

# The README's "Demo logins": public, so only ever set with DEBUG on.
LOGINS = {
    "admin": "admin-pass-2026",
    "teacher": "teacher-pass-2026",
    "learner": "learner-pass-2026",
}


def generated_logins() -> dict[str, str]:
    return {username: secrets.token_urlsafe(18) for username in LOGINS}


def _ensure_admin(passwords: dict[str, str]) -> bool:
    User = get_user_model()
    user = User.objects.filter(username="admin").first()
    if user is None:
        User.objects.create_superuser(
            username="admin", email="admin@example.com", password=passwords["admin"]
        )
        return True
    if not (user.is_staff and user.is_superuser):
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    return False


def _claim(user, username: str, passwords: dict[str, str]) -> None:
    """Give a simulated person a demo username and a real password."""
    user.username = username
    user.set_password(passwords[username])
    user.save(update_fields=["username", "password"])


def _ensure_teacher(passwords: dict[str, str]) -> bool:
    User = get_user_model()
    if User.objects.filter(username="teacher").exists():
        return False
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
            username="teacher",
            password=passwords["teacher"],
            external_id="TDEMO",
            display_name="Demo Teacher",
        )
        return True
    _claim(teacher.user, "teacher", passwords)
    return True


def _ensure_learner(passwords: dict[str, str]) -> bool:
    User = get_user_model()
    if User.objects.filter(username="learner").exists():
        return False
    wallet = (
        Account.objects.filter(
            kind=AccountKind.LEARNER_WALLET, balance_tokens__gte=200, owner__learner__isnull=False
        )
        .order_by("-balance_tokens", "id")
        .select_related("owner")
        .first()
    )
    if wallet is not None:
        _claim(wallet.owner, "learner", passwords)
        return True
    learner = Learner.objects.select_related("user").order_by("external_id").first()
    if learner is None:
        learner = register_learner(
            username="learner",
            password=passwords["learner"],
            external_id="LDEMO",
            joined_on=date.today(),
            country="US",
        )
    else:
        _claim(learner.user, "learner", passwords)
    # A wallet that can buy a few courses, issued like any other top-up.
    top_up_wallet(learner=learner, amount_tokens=500, idempotency_key=f"demo-learner-topup-{learner.pk}")
    return True


class Command(BaseCommand):
    help = "Seed demo data (the simulator) if there are no courses, and make sure the demo logins exist."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0, help="Simulator scale (1.0 = about 30 s)")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--generate-passwords",
            action="store_true",
            help="Give new demo logins random passwords (printed once) instead of the README's; "
            "required without DEBUG, where the README's public passwords are refused.",
        )

    def handle(self, *args, scale: float, seed: int, generate_passwords: bool, **options):
        if not (settings.DEBUG or generate_passwords):
            raise CommandError(
                "DEBUG is off: seed_demo will not create a superuser with the password written in the "
                "repository. Run it with --generate-passwords (random passwords, printed once), or with "
                "DJANGO_DEBUG=1 on a local machine."
            )
        passwords = generated_logins() if generate_passwords else LOGINS
        if not Course.objects.exists():
            config = SimulationConfig(seed=seed).scaled(scale)
            self.stdout.write(f"No courses yet: simulating a marketplace (scale {scale}) for the demo...")
            with tqdm(total=config.days, unit="day", desc="simulating") as bar:
                result = run_simulation(config=config, progress=bar.update)
            self.stdout.write(
                f"Simulated {result.counts['enrollments']} enrollments in {result.seconds['total']:.0f} s."
            )
        with transaction.atomic():
            created = {"admin": _ensure_admin(passwords), "teacher": _ensure_teacher(passwords)}
        created["learner"] = _ensure_learner(passwords)
        self.stdout.write(self.style.SUCCESS("Demo logins:"))
        for username, password in passwords.items():
            if generate_passwords and not created[username]:
                password = "(already there; password unchanged)"
            self.stdout.write(f"  {username:<8} {password}")
