"""The filters of the staff's price-advice list (pending only, confidence, category, teacher and a
search), shared by the page and its CSV download so both show the same rows."""

from __future__ import annotations

from django import forms
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from pricing.models import PriceRecommendation
from tokenecon.models import Course, CourseCategory, Teacher

SEARCH_MAX_LENGTH = 100


class StaffAdviceFilterForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        widget=forms.SearchInput(attrs={"placeholder": "Code or title", "autocomplete": "off"}),
    )
    pending = forms.BooleanField(label="Pending price changes only", required=False)
    confidence = forms.ChoiceField(
        required=False, choices=[("", "Any confidence"), *PriceRecommendation.Confidence.choices]
    )
    category = forms.ChoiceField(required=False, choices=[("", "All categories"), *CourseCategory.choices])
    teacher = forms.ModelChoiceField(
        required=False,
        queryset=Teacher.objects.order_by("display_name"),
        to_field_name="external_id",
        empty_label="All teachers",
    )

    def filter(self, courses: QuerySet[Course]) -> QuerySet[Course]:
        """``courses`` narrowed by the valid filters (a bad field is reported and ignored)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        if query := (data.get("q") or "").strip():
            courses = courses.filter(Q(code__icontains=query) | Q(title__icontains=query))
        if category := data.get("category"):
            courses = courses.filter(category=category)
        if teacher := data.get("teacher"):
            courses = courses.filter(teacher=teacher)
        pending = PriceRecommendation.objects.filter(
            course=OuterRef("pk"), status=PriceRecommendation.Status.PENDING
        )
        if data.get("pending"):
            # "Keep the price" advice asks nothing of anyone: only advice that changes the price.
            moves = pending.exclude(recommended_price_tokens=F("current_price_tokens"))
            courses = courses.filter(Exists(moves))
        if confidence := data.get("confidence"):
            courses = courses.filter(Exists(pending.filter(confidence=confidence)))
        return courses

    @property
    def active(self) -> bool:
        return any(self.data.get(name) for name in self.fields)
