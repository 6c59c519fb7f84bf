"""Staff "view as" (issue 15): a staff member opens the teacher portal as a given teacher, or the
learner portal as a given learner, read-only, to support them.

Starting it stores the viewed user's id in the staff member's session (``SESSION_KEY``). On every
request ``ViewAsMiddleware`` checks that the signed-in (real) user is still active staff and the
viewed user still an active, non-staff teacher or learner; then ``request.user`` is the viewed
user (so ``role_required`` and every page show that user's data only) and ``request.view_as_staff``
the real one. Every request that could write (any method but GET, HEAD, OPTIONS) is refused with
403, except stopping and logging out. Otherwise the key is dropped and nothing changes.
"""

from __future__ import annotations

import logging

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from tokenecon.permissions import is_learner, is_staff, is_teacher, role_required

log = logging.getLogger(__name__)

SESSION_KEY = "view_as_user_id"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
PORTALS = {"teacher": ("pricing:teacher_home", is_teacher), "learner": ("learners:learner_home", is_learner)}
READ_ONLY_MESSAGE = (
    "You are viewing the portal as {username} (read-only): nothing can be changed. "
    "Stop viewing as {username} to act as yourself."
)
SHOWN_USERS = 25


def viewable_user(user_id):
    """The user staff may view as: active, not staff nor superuser, a teacher or a learner."""
    if not isinstance(user_id, int):
        return None
    user = (
        get_user_model()
        .objects.filter(pk=user_id, is_active=True, is_staff=False, is_superuser=False)
        .select_related("teacher", "learner")
        .first()
    )
    if user is None or not (is_teacher(user) or is_learner(user)):
        return None
    return user


def _exempt_paths() -> set[str]:
    return {reverse("view_as_stop"), reverse("logout")}


class ViewAsMiddleware:
    """After authentication and messages: swap in the viewed user, refuse writes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.view_as_staff = None
        session = getattr(request, "session", None)
        user_id = session.get(SESSION_KEY) if session is not None else None
        if user_id is not None:
            real = request.user
            viewed = viewable_user(user_id) if is_staff(real) and real.is_active else None
            if viewed is None:
                session.pop(SESSION_KEY, None)
            else:
                request.view_as_staff = real
                request.user = viewed
                if request.method not in SAFE_METHODS and request.path not in _exempt_paths():
                    raise PermissionDenied(READ_ONLY_MESSAGE.format(username=viewed.username))
        return self.get_response(request)


def real_user(request):
    """The signed-in user behind the request: the staff member while viewing as someone."""
    return getattr(request, "view_as_staff", None) or request.user


class ViewAsForm(forms.Form):
    user = forms.IntegerField(min_value=1, error_messages={"required": "Say whom to view as."})
    portal = forms.ChoiceField(
        choices=[("teacher", "Teacher portal"), ("learner", "Learner portal")],
        error_messages={"required": "Say which portal: teacher or learner."},
    )

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        viewed = viewable_user(data["user"])
        if viewed is None:
            raise forms.ValidationError(
                "Staff can view as an active teacher or learner only (not as staff, nor an unknown user)."
            )
        if not PORTALS[data["portal"]][1](viewed):
            raise forms.ValidationError(f"{viewed.username} has no {data['portal']} portal.")
        data["viewed"] = viewed
        return data


def _candidates(query: str):
    users = get_user_model().objects.filter(is_active=True, is_staff=False, is_superuser=False)
    users = users.filter(Q(teacher__isnull=False) | Q(learner__isnull=False))
    if query:
        users = users.filter(
            Q(username__icontains=query)
            | Q(email__icontains=query)
            | Q(teacher__display_name__icontains=query)
        )
    return users.select_related("teacher", "learner").order_by("username")[:SHOWN_USERS]


def _pick_page(request, form: ViewAsForm | None = None, status: int = 200):
    query = request.GET.get("q", "").strip()[:100]
    context = {"query": query, "candidates": _candidates(query), "form": form, "shown": SHOWN_USERS}
    return render(request, "view_as.html", context, status=status)


@role_required("staff")
@require_GET
def view_as_pick(request):
    """Find a teacher or learner to view the portal as."""
    return _pick_page(request)


@role_required("staff")
@require_POST
def view_as_start(request):
    form = ViewAsForm(request.POST)
    if not form.is_valid():
        return _pick_page(request, form, status=400)
    viewed = form.cleaned_data["viewed"]
    request.session[SESSION_KEY] = viewed.pk
    log.info("staff %s started viewing as %s (read-only)", request.user.pk, viewed.pk)
    return redirect(PORTALS[form.cleaned_data["portal"]][0])


@require_POST
def view_as_stop(request):
    """Back to acting as oneself (anyone signed in may call it; it only drops the session key)."""
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("home"))
    if request.session.pop(SESSION_KEY, None) is not None:
        log.info("staff %s stopped viewing as %s", real_user(request).pk, request.user.pk)
    return redirect("home")
