"""Marketplace core tables: people, catalog, enrollments and the token ledger."""

from .catalog import Course, CourseCategory, Difficulty, PriceChange, PriceChangeSource
from .enrollment import Enrollment, EnrollmentStatus, LearnerActivity
from .ledger import Account, AccountKind, Entry, Transfer, TransferKind
from .people import Learner, Teacher

__all__ = [
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
]
