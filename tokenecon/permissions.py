"""Who may open which page: the role rules shared by every portal view.

A role is ``teacher``, ``learner`` or ``staff``. Pages use ``role_required``; the API uses
``tokenecon.api.permissions.roles_allowed``, which asks the same ``has_role``.
"""

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


def has_role(user, *roles: str) -> bool:
    """True when the user holds at least one of the roles."""
    return any(ROLE_CHECKS[role](user) for role in roles)


def roles_label(roles: tuple[str, ...]) -> str:
    """``("teacher", "staff")`` -> ``"teachers and staff"``, for messages."""
    names = [role if role == "staff" else f"{role}s" for role in roles]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def role_required(*roles: str):
    """Anonymous users go to the login page; signed-in users with none of the roles get 403."""
    for role in roles:
        if role not in ROLE_CHECKS:
            raise ValueError(f"Unknown role {role!r}")
    label = roles_label(roles)

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, *roles):
                raise PermissionDenied(f"This page is for {label}.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
