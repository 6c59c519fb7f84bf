"""Admin dashboard pages."""

from django.shortcuts import render

from tokenecon.permissions import role_required
from tokenecon.selectors import platform_overview


@role_required("staff")
def dashboard(request):
    return render(request, "analytics/dashboard.html", platform_overview())
