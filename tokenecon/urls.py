from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from tokenecon import views

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("health/live/", views.health_live, name="health_live"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("teacher/", include("pricing.urls")),
    path("learner/", include("learners.urls")),
    path("dashboard/", include("analytics.urls")),
    path("api/v1/", include("tokenecon.api.urls")),
    path("api/v1/", include("analytics.api.urls")),
    path("api/v1/", include("pricing.api.urls")),
    path("api/v1/", include("learners.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]
