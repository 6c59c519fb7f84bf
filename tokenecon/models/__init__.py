"""Marketplace core tables: people, catalog, enrollments and the token ledger."""

from .catalog import Course, CourseCategory, Difficulty, PriceChange, PriceChangeSource
from .enrollment import Enrollment, EnrollmentStatus, LearnerActivity
from .health import WorkerHeartbeat
from .ledger import TEACHER_KINDS, Account, AccountKind, Entry, Transfer, TransferKind
from .money import (
    Coupon,
    CouponFunder,
    CouponKind,
    CouponScope,
    OrderStatus,
    PaymentEvent,
    PayoutRequest,
    PayoutStatus,
    TopUpOrder,
)
from .people import Learner, Teacher

__all__ = [
    "TEACHER_KINDS",
    "Coupon",
    "CouponFunder",
    "CouponKind",
    "CouponScope",
    "OrderStatus",
    "PaymentEvent",
    "PayoutRequest",
    "PayoutStatus",
    "TopUpOrder",
    "Account",
    "AccountKind",
    "Course",
    "CourseCategory",
    "Difficulty",
    "Enrollment",
    "EnrollmentStatus",
    "Entry",
    "Learner",
    "LearnerActivity",
    "PriceChange",
    "PriceChangeSource",
    "Teacher",
    "Transfer",
    "TransferKind",
    "WorkerHeartbeat",
]
