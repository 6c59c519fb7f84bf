"""A learner refunding their own enrollment: a confirmation page that says what comes back (or
why a refund is not possible), then a POST that refunds through ``tokenecon.services.refunds``.

Someone else's enrollment answers 404, like a missing one. The rules (window, progress
threshold, after the release staff only) live in the service; this view only shows them.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from tokenecon.errors import TokenEconomyError
from tokenecon.htmx import redirect_page, render_page
from tokenecon.models import Enrollment
from tokenecon.permissions import role_required
from tokenecon.services.refunds import learner_refund, learner_refund_eligibility


@role_required("learner")
@require_http_methods(["GET", "POST"])
def refund_enrollment(request, pk: int):
    """GET: the confirmation (what comes back) or the reason it is not possible. POST: refund."""
    learner = request.user.learner
    enrollment = get_object_or_404(Enrollment.objects.select_related("course"), pk=pk, learner=learner)
    if request.method == "POST":
        try:
            learner_refund(learner=learner, enrollment=enrollment)
        except TokenEconomyError as exc:
            messages.error(request, f"Not refunded: {exc}")
        else:
            messages.success(
                request,
                f"Refunded {enrollment.course.code} {enrollment.course.title}: "
                f"{enrollment.price_paid_tokens:,} tokens are back in your wallet.",
            )
        return redirect_page(request, reverse("learners:my_courses"))
    context = {
        "section": "my_courses",
        "enrollment": enrollment,
        "eligibility": learner_refund_eligibility(enrollment),
    }
    return render_page(
        request, "learners/refund_confirm.html", context, fragment="learners/partials/refund_panel.html"
    )
