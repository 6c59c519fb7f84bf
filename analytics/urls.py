from django.urls import path

from analytics import views, views_payouts, views_quality

app_name = "analytics"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("training/start/", views.start_training, name="start_training"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("runs/<int:pk>/report/", views.run_report, name="run_report"),
    path("models/", views.registry, name="registry"),
    path("models/<int:pk>/<str:action>/", views.change_stage, name="change_stage"),
    path("data-quality/", views_quality.data_quality, name="data_quality"),
    path("models/<int:pk>/<str:action>/confirm/", views.confirm_stage_change, name="confirm_stage_change"),
    path("payouts/", views_payouts.payout_queue, name="payout_queue"),
    path("payouts/approve/", views_payouts.approve_payouts, name="approve_payouts"),
    path("payouts/<int:pk>/reject/", views_payouts.reject_payout_view, name="reject_payout"),
    path("data-quality/rerun/", views_quality.rerun_data_quality, name="rerun_data_quality"),
]
