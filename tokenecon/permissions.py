"""Who may open which page: role checks shared by every portal view."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied


def is_teacher(user) -> bool:
    return user.is_authenticated and hasattr(user, "teacher")


def is_learner(user) -> bool:
    return user.is_authenticated and hasattr(user, "learner")


def is_staff(user) -> bool:
    return user.is_authenticated and user.is_staff


ROLE_CHECKS = {"teacher": is_teacher, "learner": is_learner, "staff": is_staff}


def role_required(role: str):
    """Anonymous users go to the login page; signed-in users without the role get 403."""
    check = ROLE_CHECKS[role]

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not check(request.user):
                raise PermissionDenied(f"This page is for {role}s.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
