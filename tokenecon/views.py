import sys

from django.http import JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.defaults import server_error as default_server_error

from tokenecon.middleware import database_unavailable_response, is_database_unavailable
from tokenecon.permissions import is_learner, is_staff, is_teacher
from tokenecon.services.health import check_health


def home(request):
    user = request.user
    if not user.is_authenticated:
        return redirect("login")
    if is_staff(user):
        return redirect("analytics:dashboard")
    if is_teacher(user):
        return redirect("pricing:teacher_home")
    if is_learner(user):
        return redirect("learners:learner_home")
    return redirect("login")


@require_GET
@never_cache
def health(request):
    report = check_health()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


def server_error(request):
    """The project's 500 handler: a database that refused for now (raised outside a view, where
    ``DatabaseUnavailableMiddleware`` cannot see it, such as saving the session) is a 503."""
    exc = sys.exc_info()[1]
    if exc is not None and is_database_unavailable(exc):
        return database_unavailable_response(request)
    return default_server_error(request)


@require_GET
@never_cache
def health_live(request):
    """Liveness only: this process answers, nothing else is checked (no database, broker or
    worker ping). A load balancer's probe and the load benchmark's ceiling."""
    return JsonResponse({"status": "ok"})
