"""Coupons: quoting a code on a course, redeeming it in the purchase, and creating or deactivating
coupons (teachers for their own courses, staff any).

A quote answers the price or a ``CouponRefused`` that says exactly why (unknown, inactive, not
yet valid, expired, used up, this learner's cap, another course/teacher/category, course not on
sale). ``purchase_with_coupon`` checks again under the coupon's row lock inside the purchase's
transaction and takes one use with a conditional UPDATE (``uses_count < max_uses``), so the last
use of a capped coupon taken by two learners at once goes to exactly one of them. A refund does
not give the use back. The split of the price follows the funder (``purchase_legs``): a teacher's
coupon lowers the price the commission is taken from; a platform's credits the teacher as at list
price. A coupon that makes the course free enrolls with no transfer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import dateformat, timezone

from tokenecon.errors import CouponInvalid, CouponRefused
from tokenecon.models import (
    Coupon,
    CouponFunder,
    CouponKind,
    CouponScope,
    Course,
    CourseCategory,
    Enrollment,
    Learner,
    Teacher,
)
from tokenecon.services.enrollment import purchase_course, purchase_replay
from tokenecon.services.rates import coupon_price_tokens

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,31}$")
CODE_RULE = "3 to 32 characters: letters A-Z, digits, '-' or '_', starting with a letter or digit"


def normalise_code(code: str | None) -> str:
    """Codes are matched case-insensitively and without surrounding blanks: stored upper-case."""
    return (code or "").strip().upper()


def _day(moment: datetime) -> str:
    return dateformat.format(timezone.localtime(moment), "j M Y")


@dataclass(frozen=True)
class CouponQuote:
    """What a code does to one course's price for one learner."""

    coupon: Coupon
    list_price_tokens: int
    price_tokens: int

    @property
    def code(self) -> str:
        return self.coupon.code

    @property
    def discount_tokens(self) -> int:
        return self.list_price_tokens - self.price_tokens

    @property
    def funded_by(self) -> str:
        return self.coupon.funded_by

    @property
    def platform_funded(self) -> bool:
        return self.coupon.funded_by == CouponFunder.PLATFORM

    @property
    def is_free(self) -> bool:
        return self.price_tokens == 0

    @property
    def discount_pct(self) -> Decimal:
        """The enrollment's discount: 100 for a free one, the coupon's percentage, or the tokens
        off as a percentage of the list price (two places)."""
        if self.price_tokens == 0:
            return Decimal(100)
        if self.coupon.kind == CouponKind.PERCENT:
            return Decimal(self.coupon.percent_off)
        pct = Decimal(self.discount_tokens) * 100 / Decimal(self.list_price_tokens)
        return pct.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    @property
    def label(self) -> str:
        """ "20% off" or "30 tokens off"."""
        if self.coupon.kind == CouponKind.PERCENT:
            return f"{Decimal(self.coupon.percent_off).normalize():f}% off"
        return f"{self.coupon.tokens_off:,} tokens off"


def coupon_price(coupon: Coupon, *, list_price_tokens: int) -> int:
    if coupon.kind == CouponKind.PERCENT:
        return coupon_price_tokens(list_price_tokens=list_price_tokens, percent_off=coupon.percent_off)
    return coupon_price_tokens(list_price_tokens=list_price_tokens, tokens_off=coupon.tokens_off)


def learner_uses(coupon: Coupon, learner: Learner) -> int:
    """Times the learner redeemed the coupon (refunded purchases count: a refund keeps the use)."""
    return Enrollment.objects.filter(coupon=coupon, learner=learner).count()


def _check(coupon: Coupon, *, course: Course, learner: Learner, at: datetime, counted: int = 0) -> None:
    """Raise ``CouponRefused`` with the first reason the coupon cannot be used; ``counted`` is how
    many of the learner's uses are the purchase being made (already written in its transaction)."""
    code = coupon.code
    if course.status != Course.Status.PUBLISHED:
        raise CouponRefused(f"{course.code} is not on sale.")
    if not coupon.is_active:
        raise CouponRefused(f"Coupon {code} is no longer active.")
    if coupon.valid_from is not None and at < coupon.valid_from:
        raise CouponRefused(f"Coupon {code} is not valid yet: valid from {_day(coupon.valid_from)}.")
    if coupon.valid_until is not None and at >= coupon.valid_until:
        raise CouponRefused(f"Coupon {code} expired on {_day(coupon.valid_until)}.")
    if coupon.scope == CouponScope.COURSE and coupon.course_id != course.pk:
        raise CouponRefused(f"Coupon {code} is for another course, not {course.code}.")
    if coupon.scope == CouponScope.TEACHER and coupon.teacher_id != course.teacher_id:
        raise CouponRefused(f"Coupon {code} is for another teacher's courses, not {course.code}.")
    if coupon.scope == CouponScope.CATEGORY and coupon.category != course.category:
        label = (
            CourseCategory(coupon.category).label
            if coupon.category in CourseCategory.values
            else coupon.category
        )
        raise CouponRefused(f"Coupon {code} is for {label} courses, not {course.code}.")
    if coupon.max_uses is not None and coupon.uses_count >= coupon.max_uses:
        raise CouponRefused(
            f"Coupon {code} has been used up ({coupon.uses_count} of {coupon.max_uses} uses)."
        )
    cap = coupon.max_uses_per_learner
    if learner_uses(coupon, learner) - counted >= cap:
        raise CouponRefused(
            f"You have already used coupon {code} ({cap} use{'s' if cap != 1 else ''} per learner)."
        )


def quote_coupon(*, code: str, course: Course, learner: Learner, at: datetime | None = None) -> CouponQuote:
    """The price of ``course`` for ``learner`` with ``code``, or ``CouponRefused`` saying why."""
    when = at or timezone.now()
    normalised = normalise_code(code)
    if not normalised:
        raise CouponRefused("Enter a coupon code.")
    coupon = Coupon.objects.filter(code=normalised).first()
    if coupon is None:
        raise CouponRefused(f"Unknown coupon code {normalised[:32]}.")
    _check(coupon, course=course, learner=learner, at=when)
    return CouponQuote(
        coupon=coupon,
        list_price_tokens=course.price_tokens,
        price_tokens=coupon_price(coupon, list_price_tokens=course.price_tokens),
    )


def purchase_with_coupon(
    *,
    learner: Learner,
    course: Course,
    code: str,
    idempotency_key: str,
    at: datetime | None = None,
    expected_price_tokens: int | None = None,
) -> Enrollment:
    """Buy ``course`` at the coupon's price and record the redemption (enrollment and transfer).

    A retry with the key of a purchase that went through returns its enrollment (even when that
    purchase took the coupon's last use). Otherwise the coupon is quoted, then checked again under
    its row lock in the purchase's transaction, where one use is taken; any refusal writes nothing.
    ``expected_price_tokens``: the price the learner confirmed; a different one is refused.
    """
    when = at or timezone.now()
    done = purchase_replay(idempotency_key=idempotency_key, learner=learner, course=course)
    if done is not None:
        return done
    quote = quote_coupon(code=code, course=course, learner=learner, at=when)
    if expected_price_tokens is not None and quote.price_tokens != expected_price_tokens:
        raise CouponRefused(
            f"With coupon {quote.code} the price is {quote.price_tokens} tokens, not the"
            f" {expected_price_tokens} you confirmed; confirm again."
        )

    def take_use(enrollment: Enrollment) -> None:
        locked = Coupon.objects.select_for_update().get(pk=quote.coupon.pk)
        _check(locked, course=course, learner=learner, at=when, counted=1)
        if coupon_price(locked, list_price_tokens=course.price_tokens) != quote.price_tokens:
            raise CouponRefused(f"Coupon {locked.code} changed while you were buying; try again.")
        taken = (
            Coupon.objects.filter(pk=locked.pk, is_active=True)
            .filter(Q(max_uses__isnull=True) | Q(uses_count__lt=F("max_uses")))
            .update(uses_count=F("uses_count") + 1)
        )
        if not taken:
            raise CouponRefused(f"Coupon {locked.code} has been used up.")

    return purchase_course(
        learner=learner,
        course=course,
        idempotency_key=idempotency_key,
        discount_pct=quote.discount_pct,
        at=when,
        also=take_use,
        paid_tokens=quote.price_tokens,
        platform_funded=quote.platform_funded,
        coupon_id=quote.coupon.pk,
    )


# --- creating and deactivating ------------------------------------------------------------------

EDITABLE = ("is_active", "valid_until", "max_uses", "max_uses_per_learner")


def coupons_visible_to(user) -> QuerySet[Coupon]:
    """Staff see every coupon; a teacher the coupons of their courses and of all their courses."""
    rows = Coupon.objects.select_related("course", "teacher")
    if user.is_staff:
        return rows
    teacher = getattr(user, "teacher", None)
    if teacher is None:
        return rows.none()
    return rows.filter(Q(course__teacher=teacher) | Q(scope=CouponScope.TEACHER, teacher=teacher))


def _acting_teacher(user) -> Teacher | None:
    """The teacher a non-staff author acts as (None for staff, who may create any coupon)."""
    if user.is_staff:
        return None
    teacher = getattr(user, "teacher", None)
    if teacher is None:
        raise CouponRefused("Only teachers and staff create coupons.")
    return teacher


def validate_coupon_fields(data: dict[str, Any], *, by, creating: bool = True) -> dict[str, str]:
    """Every broken rule of a coupon's fields, by field name (``__all__`` for the whole), for the
    teacher's form, the admin and the API alike; ``data`` holds cleaned values."""
    errors: dict[str, str] = {}
    if creating:
        code = normalise_code(data.get("code"))
        if not code:
            errors["code"] = "Enter a code."
        elif not CODE_PATTERN.match(code):
            errors["code"] = f"A code is {CODE_RULE}."
        elif Coupon.objects.filter(code=code).exists():
            errors["code"] = f"Code {code} is taken; choose another."
        kind = data.get("kind") or CouponKind.PERCENT
        if kind == CouponKind.PERCENT:
            pct = data.get("percent_off")
            if pct is None:
                errors["percent_off"] = "Enter the percentage off."
            elif not Decimal(0) < Decimal(str(pct)) <= Decimal(100):
                errors["percent_off"] = "The percentage off must be above 0 and at most 100."
            if data.get("tokens_off") not in (None, ""):
                errors["tokens_off"] = "A percent-off coupon takes no tokens off; leave this empty."
        elif kind == CouponKind.FIXED:
            tokens = data.get("tokens_off")
            if tokens is None:
                errors["tokens_off"] = "Enter the number of tokens off."
            elif tokens <= 0:
                errors["tokens_off"] = "The tokens off must be a positive whole number."
            if data.get("percent_off") not in (None, ""):
                errors["percent_off"] = "A tokens-off coupon takes no percentage off; leave this empty."
        else:
            errors["kind"] = f"Unknown kind {kind!r}: percent or fixed."
        errors.update(_scope_errors(data, by=by))
    valid_from, valid_until = data.get("valid_from"), data.get("valid_until")
    if valid_from and valid_until and valid_until <= valid_from:
        errors["valid_until"] = "The end of validity must be after its start."
    max_uses = data.get("max_uses")
    if max_uses is not None and max_uses < 1:
        errors["max_uses"] = "The use cap must be at least 1 (leave it empty for no cap)."
    per_learner = data.get("max_uses_per_learner")
    if per_learner is not None and per_learner < 1:
        errors["max_uses_per_learner"] = "Each learner may use a coupon at least once."
    return errors


def _scope_errors(data: dict[str, Any], *, by) -> dict[str, str]:
    teacher = _acting_teacher(by)
    scope = data.get("scope") or CouponScope.COURSE
    course, target_teacher, category = data.get("course"), data.get("teacher"), data.get("category") or ""
    errors: dict[str, str] = {}
    if scope not in CouponScope.values:
        return {"scope": f"Unknown scope {scope!r}."}
    if teacher is not None:
        if data.get("funded_by") not in (None, "", CouponFunder.TEACHER):
            errors["funded_by"] = (
                "A teacher's coupon is funded by the teacher; only staff create platform-funded ones."
            )
        if scope == CouponScope.COURSE:
            if course is None:
                errors["course"] = "Choose one of your courses."
            elif course.teacher_id != teacher.pk:
                errors["course"] = f"{course.code} is not one of your courses."
        elif scope == CouponScope.TEACHER:
            if target_teacher is not None and target_teacher.pk != teacher.pk:
                errors["teacher"] = "A teacher creates coupons for their own courses only."
        else:
            errors["scope"] = "A teacher's coupon is for one of their courses or all of them."
        return errors
    if data.get("funded_by") not in (None, "", *CouponFunder.values):
        errors["funded_by"] = "Funded by the teacher or the platform."
    if scope == CouponScope.COURSE and course is None:
        errors["course"] = "Choose the course."
    if scope == CouponScope.TEACHER and target_teacher is None:
        errors["teacher"] = "Choose the teacher."
    if scope == CouponScope.CATEGORY and category not in CourseCategory.values:
        errors["category"] = "Choose a category."
    return errors


def create_coupon(*, by, **fields: Any) -> Coupon:
    """Create a coupon after ``validate_coupon_fields``; raises ``CouponInvalid`` naming each
    broken field and writes nothing. A teacher's coupon is teacher-funded, for one of their
    courses (``scope="course"``) or all of them (``scope="teacher"``)."""
    errors = validate_coupon_fields(fields, by=by)
    if errors:
        raise CouponInvalid(errors)
    teacher = _acting_teacher(by)
    scope = fields.get("scope") or CouponScope.COURSE
    kind = fields.get("kind") or CouponKind.PERCENT
    row = Coupon(
        code=normalise_code(fields["code"]),
        kind=kind,
        percent_off=fields.get("percent_off") if kind == CouponKind.PERCENT else None,
        tokens_off=fields.get("tokens_off") if kind == CouponKind.FIXED else None,
        scope=scope,
        course=fields.get("course") if scope == CouponScope.COURSE else None,
        teacher=(teacher or fields.get("teacher")) if scope == CouponScope.TEACHER else None,
        category=(fields.get("category") or "") if scope == CouponScope.CATEGORY else "",
        funded_by=CouponFunder.TEACHER
        if teacher is not None
        else fields.get("funded_by") or CouponFunder.TEACHER,
        valid_from=fields.get("valid_from"),
        valid_until=fields.get("valid_until"),
        max_uses=fields.get("max_uses"),
        max_uses_per_learner=fields.get("max_uses_per_learner") or 1,
        created_by=by,
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError as exc:
        if Coupon.objects.filter(code=row.code).exists():
            raise CouponInvalid({"code": f"Code {row.code} is taken; choose another."}) from exc
        raise
    return row


def _check_may_edit(coupon: Coupon, by) -> None:
    if not coupons_visible_to(by).filter(pk=coupon.pk).exists():
        raise CouponRefused(f"Coupon {coupon.code} is not one of yours.")


def update_coupon(*, coupon: Coupon, by, **changes: Any) -> Coupon:
    """Change what may change after creation (active, end of validity, caps); the amount, scope
    and funder stay as learners saw them (create a new coupon instead)."""
    fixed = sorted(set(changes) - set(EDITABLE))
    if fixed:
        raise CouponInvalid({name: "This cannot change once created; create a new coupon." for name in fixed})
    _check_may_edit(coupon, by)
    with transaction.atomic():
        locked = Coupon.objects.select_for_update().get(pk=coupon.pk)
        merged = {"valid_from": locked.valid_from, "valid_until": locked.valid_until, **changes}
        errors = validate_coupon_fields(merged, by=by, creating=False)
        cap = changes.get("max_uses", locked.max_uses)
        if "max_uses" in changes and cap is not None and cap < locked.uses_count:
            errors["max_uses"] = f"Already used {locked.uses_count} times; the cap cannot be lower."
        if errors:
            raise CouponInvalid(errors)
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save(update_fields=list(changes) or None)
    return locked


def deactivate_coupon(*, coupon: Coupon, by) -> Coupon:
    """Stop a coupon from being redeemed (again: no-op); uses already made stand."""
    _check_may_edit(coupon, by)
    Coupon.objects.filter(pk=coupon.pk).update(is_active=False)
    coupon.is_active = False
    return coupon


def coupon_status(coupon: Coupon, *, at: datetime | None = None) -> str:
    """One word for lists: inactive, scheduled, expired, used up or active."""
    when = at or timezone.now()
    if not coupon.is_active:
        return "inactive"
    if coupon.valid_from is not None and when < coupon.valid_from:
        return "scheduled"
    if coupon.valid_until is not None and when >= coupon.valid_until:
        return "expired"
    if coupon.max_uses is not None and coupon.uses_count >= coupon.max_uses:
        return "used up"
    return "active"
