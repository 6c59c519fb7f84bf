from django.urls import path

from analytics.api import views

urlpatterns = [
    path("models/", views.ModelVersionList.as_view(), name="model-list"),
    path("models/<str:name>/elasticities/", views.CategoryElasticities.as_view(), name="model-elasticities"),
]
