"""Learner portal pages."""

from django.shortcuts import render

from tokenecon.permissions import role_required
from tokenecon.selectors import learner_overview


@role_required("learner")
def learner_home(request):
    return render(request, "learners/learner_home.html", learner_overview(learner=request.user.learner))
