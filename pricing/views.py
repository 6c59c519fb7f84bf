"""Teacher portal pages."""

from django.shortcuts import render

from tokenecon.permissions import role_required
from tokenecon.selectors import teacher_overview


@role_required("teacher")
def teacher_home(request):
    return render(request, "pricing/teacher_home.html", teacher_overview(teacher=request.user.teacher))
