from django.urls import path

from analytics import views, views_quality

app_name = "analytics"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("training/start/", views.start_training, name="start_training"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("runs/<int:pk>/report/", views.run_report, name="run_report"),
    path("models/", views.registry, name="registry"),
    path("models/<int:pk>/<str:action>/", views.change_stage, name="change_stage"),
    path("data-quality/", views_quality.data_quality, name="data_quality"),
    path("data-quality/rerun/", views_quality.rerun_data_quality, name="rerun_data_quality"),
]
