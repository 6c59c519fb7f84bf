"""In-app notices to teachers: staff changed the price of one of their courses (issue 15)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from pricing.errors import PricingError
from pricing.models import PriceNotice
from tokenecon.models import Course, PriceChange

NO_SUCH_NOTICE = "No such notice."


def notify_staff_price_change(
    *, course: Course, change: PriceChange, by, why: str = "advice applied"
) -> None:
    """Tell the course's teacher that someone else (staff) changed its price; a teacher's own
    change is no news to them."""
    teacher_user_id = course.teacher.user_id
    if by is not None and by.pk == teacher_user_id:
        return
    PriceNotice.objects.create(
        user_id=teacher_user_id,
        course=course,
        price_change=change,
        text=(
            f"Staff changed the price of {course.code} from {change.old_price_tokens} to "
            f"{change.new_price_tokens} ({why})"
        ),
    )


def unread_notices(user) -> QuerySet[PriceNotice]:
    return PriceNotice.objects.filter(user=user, read_at__isnull=True).select_related("course")


def mark_notice_read(*, user, notice_id: int) -> PriceNotice:
    """Mark one of the user's notices read (another user's is answered like a missing one)."""
    notice = PriceNotice.objects.filter(user=user, pk=notice_id).first()
    if notice is None:
        raise PricingError(NO_SUCH_NOTICE)
    if notice.read_at is None:
        notice.read_at = timezone.now()
        notice.save(update_fields=["read_at"])
    return notice


def mark_all_notices_read(*, user) -> int:
    return unread_notices(user).update(read_at=timezone.now())
