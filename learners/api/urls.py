from django.urls import path

from learners.api import refunds, views

urlpatterns = [
    path("learners/<int:learner_id>/propensity/", views.PropensityView.as_view(), name="learner-propensity"),
    path(
        "learners/<int:learner_id>/recommendations/",
        views.RecommendationsView.as_view(),
        name="learner-recommendations",
    ),
    path("learners/<int:learner_id>/offers/", views.OffersView.as_view(), name="learner-offers"),
    path("pricing/personalized/", views.PersonalizedPriceView.as_view(), name="pricing-personalized"),
    path(
        "enrollments/<int:enrollment_id>/refund/",
        refunds.EnrollmentRefundView.as_view(),
        name="enrollment-refund",
    ),
]
