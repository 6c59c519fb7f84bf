from django.urls import path

from pricing.api import views

urlpatterns = [
    path("pricing/optimize/", views.OptimizeView.as_view(), name="pricing-optimize"),
    path(
        "pricing/predict-enrollments/",
        views.PredictEnrollmentsView.as_view(),
        name="pricing-predict-enrollments",
    ),
    path("pricing/recommendations/", views.RecommendationList.as_view(), name="pricing-recommendations"),
    path(
        "pricing/recommendations/apply/",
        views.BulkApplyView.as_view(),
        name="pricing-recommendations-bulk-apply",
    ),
    path(
        "pricing/recommendations/<int:pk>/apply/",
        views.ApplyRecommendationView.as_view(),
        name="pricing-recommendation-apply",
    ),
    path(
        "pricing/recommendations/<int:pk>/dismiss/",
        views.DismissRecommendationView.as_view(),
        name="pricing-recommendation-dismiss",
    ),
]
