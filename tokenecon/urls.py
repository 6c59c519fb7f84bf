from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from tokenecon import view_as, views
from tokenecon.payments import views as payment_views

handler500 = "tokenecon.views.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("health/live/", views.health_live, name="health_live"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password_reset/done/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"
    ),
    path("admin/", admin.site.urls),
    path("teacher/", include("pricing.urls")),
    path("learner/", include("learners.urls")),
    path("dashboard/", include("analytics.urls")),
    path("api/v1/", include("tokenecon.api.urls")),
    path("api/v1/", include("analytics.api.urls")),
    path("api/v1/", include("pricing.api.urls")),
    path("api/v1/", include("learners.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: no inline script under the CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    # Stripe calls it with signed events (no login, no CSRF token): tokenecon/payments/views.py.
    path("payments/stripe/webhook/", payment_views.stripe_webhook, name="stripe_webhook"),
    # Staff "view as" a teacher or learner, read-only (tokenecon/view_as.py).
    path("view-as/", view_as.view_as_pick, name="view_as_pick"),
    path("view-as/start/", view_as.view_as_start, name="view_as_start"),
    path("view-as/stop/", view_as.view_as_stop, name="view_as_stop"),
]
