"""DRF permissions: one role rule for every endpoint, and course ownership for objects.

Views list the roles they serve with ``roles_allowed("teacher", "staff")``. Objects a caller may
not see at all (another teacher's course, another learner) are filtered out by the view's
queryset so they answer 404 like missing ones; these classes only refuse whole roles (403).
"""

from __future__ import annotations

from functools import cache

from rest_framework.permissions import IsAuthenticated

from tokenecon.permissions import ROLE_CHECKS, has_role, is_staff, roles_label


@cache
def roles_allowed(*roles: str) -> type[IsAuthenticated]:
    """A permission class admitting signed-in users who hold at least one of the roles."""
    for role in roles:
        if role not in ROLE_CHECKS:
            raise ValueError(f"Unknown role {role!r}")

    class HasRole(IsAuthenticated):
        message = f"This API is for {roles_label(roles)}."

        def has_permission(self, request, view):
            return super().has_permission(request, view) and has_role(request.user, *roles)

    HasRole.__name__ = HasRole.__qualname__ = "HasRole_" + "_or_".join(roles)
    return HasRole


class OwnsCourseOrStaff(roles_allowed("teacher", "staff")):
    """Teachers act on their own courses (or rows that belong to one, such as price advice),
    staff on every course."""

    def has_object_permission(self, request, view, obj):
        course = getattr(obj, "course", obj)
        return is_staff(request.user) or course.teacher.user_id == request.user.pk
