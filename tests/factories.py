"""factory-boy factories for the marketplace core; people get their token account as in production."""

from datetime import date

import factory
from django.contrib.auth import get_user_model

from tokenecon.models import Account, AccountKind, Course, Learner, Teacher


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pass-word-123")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True


class TeacherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Teacher
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    external_id = factory.Sequence(lambda n: f"T{n:05d}")
    display_name = factory.Faker("name")
    quality_score = 70
    years_experience = 5

    @factory.post_generation
    def earnings_account(obj, create, extracted, **kwargs):
        if create:
            Account.objects.get_or_create(kind=AccountKind.TEACHER_EARNINGS, owner=obj.user)


class LearnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Learner
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    external_id = factory.Sequence(lambda n: f"L{n:05d}")
    joined_on = date(2025, 1, 1)
    country = "DE"

    @factory.post_generation
    def wallet(obj, create, extracted, **kwargs):
        if create:
            Account.objects.get_or_create(kind=AccountKind.LEARNER_WALLET, owner=obj.user)


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course

    code = factory.Sequence(lambda n: f"C{n:05d}")
    title = factory.Sequence(lambda n: f"Course {n}")
    teacher = factory.SubFactory(TeacherFactory)
    category = "programming"
    difficulty = "beginner"
    duration_hours = 10
    launch_date = date(2025, 1, 1)
    price_tokens = 100
