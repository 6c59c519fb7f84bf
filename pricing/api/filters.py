import django_filters

from pricing.models import PriceRecommendation
from tokenecon.models import CourseCategory


class RecommendationFilter(django_filters.FilterSet):
    course = django_filters.CharFilter(field_name="course__code", label="Course code")
    category = django_filters.ChoiceFilter(field_name="course__category", choices=CourseCategory.choices)

    class Meta:
        model = PriceRecommendation
        fields = ["status", "confidence", "course", "category"]
