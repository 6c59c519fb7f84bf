"""Query filters of the learner API."""

import django_filters

from learners.models import Offer


class OfferFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Offer.Status.choices)

    class Meta:
        model = Offer
        fields = ["status"]
