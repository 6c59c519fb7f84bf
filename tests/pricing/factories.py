"""Factories for pricing models that ``tests/factories.py`` does not have yet."""

import factory


class AdviceRunFactory(factory.django.DjangoModelFactory):
    """A queued recompute of the whole catalog's price advice."""

    class Meta:
        model = "pricing.AdviceRun"

    status = "queued"
