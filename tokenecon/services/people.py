"""Creating learners and teachers together with their user, role and token account."""

from __future__ import annotations

from datetime import date

from django.contrib.auth import get_user_model
from django.db import transaction

from tokenecon.models import Account, AccountKind, Learner, Teacher


def register_teacher(
    *,
    username: str,
    password: str | None,
    external_id: str,
    display_name: str,
    quality_score: int = 50,
    years_experience: int = 0,
    bio: str = "",
    email: str = "",
) -> Teacher:
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=username, password=password, email=email)
        teacher = Teacher.objects.create(
            user=user,
            external_id=external_id,
            display_name=display_name,
            quality_score=quality_score,
            years_experience=years_experience,
            bio=bio,
        )
        Account.objects.create(kind=AccountKind.TEACHER_EARNINGS, owner=user)
    return teacher


def register_learner(
    *,
    username: str,
    password: str | None,
    external_id: str,
    joined_on: date,
    country: str,
    email: str = "",
    **profile: str,
) -> Learner:
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=username, password=password, email=email)
        learner = Learner.objects.create(
            user=user, external_id=external_id, joined_on=joined_on, country=country, **profile
        )
        Account.objects.create(kind=AccountKind.LEARNER_WALLET, owner=user)
    return learner
