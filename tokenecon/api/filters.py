import django_filters

from tokenecon.models import Course, Entry
from tokenecon.selectors import search_courses


class CourseFilter(django_filters.FilterSet):
    teacher = django_filters.CharFilter(field_name="teacher__external_id", label="Teacher code")
    min_price = django_filters.NumberFilter(field_name="price_tokens", lookup_expr="gte")
    max_price = django_filters.NumberFilter(field_name="price_tokens", lookup_expr="lte")
    search = django_filters.CharFilter(method="filter_search", label="Title, code or description contains")

    class Meta:
        model = Course
        fields = ["category", "difficulty", "status", "teacher", "min_price", "max_price", "search"]

    def filter_search(self, queryset, name, value):
        # The same matching as the learner catalog page.
        return search_courses(courses=queryset, query=value)


class WalletEntryFilter(django_filters.FilterSet):
    kind = django_filters.CharFilter(field_name="transfer__kind", label="Transfer kind")

    class Meta:
        model = Entry
        fields = ["kind"]
