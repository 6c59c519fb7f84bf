"""The columns of each CSV kind, and parsing of one file into typed rows with every problem listed.

A schema knows types, required columns, ranges and enums: everything that can be checked on one
value alone. Checks that need other rows or the database (duplicates, foreign keys, business
rules across columns) live in ``importing``. ``docs/csv.md`` documents the same columns.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from tokenecon.csv_io.errors import CsvProblem
from tokenecon.models import (
    CourseCategory,
    Difficulty,
    EnrollmentStatus,
    Learner,
    PriceChangeSource,
)
from tokenecon.models.catalog import Course

TRUE_WORDS = {"true", "1", "yes", "y", "t"}
FALSE_WORDS = {"false", "0", "no", "n", "f"}
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
# ASCII digits only: int() and Decimal() also read other scripts' digits ("５０" is 50), which no
# export writes and a person rarely means.
INT_RE = re.compile(r"[+-]?[0-9]+")
DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
# What the csv module's strict mode says, in words that say what to fix.
UNCLOSED_QUOTE = "the value that starts here has no closing quote: the file is cut off or a quote is missing"
CSV_ERRORS = {
    "unexpected end of data": UNCLOSED_QUOTE,
    "',' expected after '\"'": 'text after a closing quote (a quote inside a quoted value is written "")',
}


def price_min() -> int:
    return settings.TOKEN_PRICE_MIN


def price_max() -> int:
    return settings.TOKEN_PRICE_MAX


@dataclass(frozen=True)
class Column:
    """One CSV column. ``required`` means the header must have it and no row may leave it blank.

    Bounds may be callables so prices follow the settings at import time, not at import of
    this module.
    """

    name: str
    type: str  # str, int, decimal, date, datetime, bool, enum, email, country
    required: bool
    meaning: str
    choices: tuple[str, ...] = ()
    min_value: int | Decimal | Callable[[], int] | None = None
    max_value: int | Decimal | Callable[[], int] | None = None
    max_length: int | None = None
    decimal_places: int | None = None
    default: Any = None
    exclusive_max: bool = False

    def bound(self, which: str) -> Any:
        value = self.min_value if which == "min" else self.max_value
        return value() if callable(value) else value

    def describe_type(self) -> str:
        if self.type == "enum":
            return "one of " + ", ".join(f"`{c}`" for c in self.choices)
        base = {
            "str": "text",
            "int": "whole number",
            "decimal": f"decimal ({self.decimal_places} places)",
            "date": "date `YYYY-MM-DD`",
            "datetime": "date-time ISO 8601 (`2025-01-31T14:05:00+00:00`; no offset means UTC)",
            "bool": "`true` / `false`",
            "email": "e-mail address",
            "country": "ISO 3166-1 alpha-2 code",
        }[self.type]
        if self.max_length and self.type == "str":
            base += f", at most {self.max_length} characters"
        low, high = self.min_value, self.max_value
        low_text = "TOKEN_PRICE_MIN" if callable(low) else low
        high_text = "TOKEN_PRICE_MAX" if callable(high) else high
        if low is not None and high is not None:
            base += f", {low_text} to {high_text}" + (" (exclusive)" if self.exclusive_max else "")
        elif low is not None:
            base += f", at least {low_text}"
        return base


@dataclass(frozen=True)
class Schema:
    kind: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    summary: str

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _enum(values) -> tuple[str, ...]:
    return tuple(v for v, _ in values.choices)


# Columns that name a row of another kind by its key.
TEACHER_ID = Column("teacher_id", "str", True, "External id of an existing teacher", max_length=32)
COURSE_CODE = Column("course_code", "str", True, "Code of an existing course", max_length=16)
LEARNER_ID = Column("learner_id", "str", True, "External id of an existing learner", max_length=32)

# Every imported person gets a user: these two columns are the same for teachers and learners.
USERNAME = Column(
    "username", "str", False, "Login name of the new user (default: the external id)", max_length=150
)
EMAIL = Column("email", "email", False, "E-mail of the user", max_length=254, default="")

TEACHERS = Schema(
    kind="teachers",
    key=("external_id",),
    summary="One row per teacher; a user with an unusable password and an earnings account is created.",
    columns=(
        Column("external_id", "str", True, "Teacher key, e.g. `T00001`", max_length=32),
        Column("display_name", "str", True, "Name shown to learners", max_length=120),
        USERNAME,
        EMAIL,
        Column("bio", "str", False, "Free text", default=""),
        Column(
            "quality_score", "int", False, "Teaching quality 0-100", min_value=0, max_value=100, default=50
        ),
        Column("years_experience", "int", False, "Years of teaching", min_value=0, max_value=80, default=0),
        Column("joined_on", "date", False, "Day the teacher joined the platform"),
    ),
)

COURSES = Schema(
    kind="courses",
    key=("code",),
    summary="One row per course. `price_tokens` is the current price; its history is a separate file.",
    columns=(
        Column("code", "str", True, "Course key, e.g. `C00001`", max_length=16),
        Column("title", "str", True, "Course title", max_length=200),
        TEACHER_ID,
        Column("category", "enum", True, "Catalog category", choices=_enum(CourseCategory)),
        Column("difficulty", "enum", True, "Level", choices=_enum(Difficulty)),
        Column(
            "duration_hours",
            "decimal",
            True,
            "Length of the course in hours, above 0",
            min_value=Decimal("0.1"),
            max_value=Decimal("99999.9"),
            decimal_places=1,
        ),
        Column("launch_date", "date", True, "Day the course went on sale"),
        Column(
            "price_tokens",
            "int",
            True,
            "Current price in whole tokens",
            min_value=price_min,
            max_value=price_max,
        ),
        Column(
            "price_floor_tokens",
            "int",
            False,
            "The teacher's lowest acceptable price",
            min_value=1,
            max_value=price_max,
        ),
        Column("certificate_offered", "bool", False, "Whether a certificate is given", default=False),
        Column("status", "enum", False, "Catalog status", choices=_enum(Course.Status), default="published"),
        Column("description", "str", False, "Free text", default=""),
    ),
)

LEARNERS = Schema(
    kind="learners",
    key=("external_id",),
    summary="One row per learner; a user with an unusable password and a wallet is created.",
    columns=(
        Column("external_id", "str", True, "Learner key, e.g. `L00001`", max_length=32),
        Column("joined_on", "date", True, "Day the learner signed up"),
        Column("country", "country", True, "Country code, e.g. `DE`"),
        Column("age_group", "enum", False, "Age band", choices=_enum(Learner.AgeGroup), default=""),
        Column("education", "enum", False, "Highest education", choices=_enum(Learner.Education), default=""),
        Column(
            "acquisition_channel",
            "enum",
            False,
            "How the learner found the platform",
            choices=_enum(Learner.Channel),
            default="",
        ),
        USERNAME,
        EMAIL,
        Column(
            "tokens_funded",
            "int",
            False,
            "Net tokens put into the wallet other than by purchases and refunds (top-ups, rewards, "
            "adjustments). When above what the ledger already holds, the import tops the wallet up "
            "by the difference; it never takes tokens back.",
            min_value=0,
        ),
    ),
)

PRICE_HISTORY = Schema(
    kind="price_history",
    key=("course_code", "effective_at"),
    summary="One row per price change of a course. Does not change the course's current price.",
    columns=(
        COURSE_CODE,
        Column("effective_at", "datetime", True, "When the new price took effect"),
        Column(
            "new_price_tokens", "int", True, "Price from then on", min_value=price_min, max_value=price_max
        ),
        Column(
            "old_price_tokens",
            "int",
            False,
            "Price before (blank for the first price)",
            min_value=price_min,
            max_value=price_max,
        ),
        Column(
            "source",
            "enum",
            False,
            "Why the price changed",
            choices=_enum(PriceChangeSource),
            default="manual",
        ),
        Column("approved_by", "str", False, "Username of an existing user who approved it", max_length=150),
        Column("note", "str", False, "Free text", max_length=255, default=""),
    ),
)

ENROLLMENTS = Schema(
    kind="enrollments",
    key=("enrollment_id",),
    summary=(
        "One row per enrollment. A new enrollment is a purchase through the ledger: the learner's wallet "
        "pays `price_paid_tokens` (topped up first by an import top-up where it lacks tokens), the "
        "teacher gets the price minus the commission, the platform the commission. A refunded "
        "enrollment also gets its refund. Price columns of an enrollment already imported cannot change."
    ),
    columns=(
        Column("enrollment_id", "str", True, "Enrollment key, e.g. `E0000001`", max_length=32),
        LEARNER_ID,
        COURSE_CODE,
        Column("enrolled_at", "datetime", True, "When the learner bought the course"),
        Column(
            "list_price_tokens",
            "int",
            True,
            "Course price at the time of purchase",
            min_value=price_min,
            max_value=price_max,
        ),
        Column("price_paid_tokens", "int", True, "Tokens paid, at most the list price", min_value=1),
        Column(
            "discount_pct",
            "decimal",
            False,
            "Discount given, in percent",
            min_value=Decimal(0),
            max_value=Decimal(100),
            exclusive_max=True,
            decimal_places=2,
            default=Decimal(0),
        ),
        Column(
            "status", "enum", False, "Enrollment status", choices=_enum(EnrollmentStatus), default="active"
        ),
        Column("progress_pct", "int", False, "Progress 0-100", min_value=0, max_value=100, default=0),
        Column("completed_at", "datetime", False, "When completed; required for `completed`"),
        Column("rating", "int", False, "Learner's rating 1-5", min_value=1, max_value=5),
        Column("refunded_at", "datetime", False, "When refunded (status `refunded` only)"),
    ),
)

ACTIVITY = Schema(
    kind="activity",
    key=("learner_id", "day", "course_code"),
    summary="One row per learner, day and course (course blank for activity not tied to a course).",
    columns=(
        LEARNER_ID,
        Column("day", "date", True, "Day of the activity"),
        replace(COURSE_CODE, required=False),
        Column("lessons_completed", "int", False, "Lessons finished", min_value=0, max_value=1000, default=0),
        Column("minutes", "int", False, "Minutes of learning", min_value=0, max_value=1440, default=0),
        Column("forum_posts", "int", False, "Forum posts written", min_value=0, max_value=10000, default=0),
        Column(
            "assignments_submitted",
            "int",
            False,
            "Assignments handed in",
            min_value=0,
            max_value=1000,
            default=0,
        ),
    ),
)

SCHEMAS: dict[str, Schema] = {
    s.kind: s for s in (TEACHERS, COURSES, LEARNERS, PRICE_HISTORY, ENROLLMENTS, ACTIVITY)
}
# In the order they are imported: later kinds refer to earlier ones.
IMPORT_KINDS = tuple(SCHEMAS)


class BadValue(ValueError):
    pass


def _parse_int(text: str) -> int:
    if not INT_RE.fullmatch(text):
        raise BadValue("not a whole number")
    return int(text)


def _parse_decimal(text: str, column: Column) -> Decimal:
    if not DECIMAL_RE.fullmatch(text):
        raise BadValue("not a number")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise BadValue("not a number") from exc
    if not value.is_finite():
        raise BadValue("not a number")
    if column.decimal_places is not None and -value.as_tuple().exponent > column.decimal_places:
        value_q = value.quantize(Decimal(1).scaleb(-column.decimal_places))
        if value_q != value:
            raise BadValue(f"more than {column.decimal_places} decimal places")
        value = value_q
    return value


def _parse_datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadValue("not a date-time (use ISO 8601, e.g. 2025-01-31T14:05:00+00:00)") from exc
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value


def parse_value(column: Column, text: str) -> Any:
    """Turn one cell into its Python value, or raise ``BadValue`` saying why it is wrong."""
    if column.type in ("str", "email"):
        value: Any = text
        if column.max_length and len(text) > column.max_length:
            raise BadValue(f"longer than {column.max_length} characters")
        if column.type == "email":
            try:
                validate_email(text)
            except ValidationError as exc:
                raise BadValue("not an e-mail address") from exc
        return value
    if column.type == "country":
        if not COUNTRY_RE.fullmatch(text):
            raise BadValue("not a two-letter upper-case country code")
        return text
    if column.type == "enum":
        if text not in column.choices:
            raise BadValue("not one of " + ", ".join(column.choices))
        return text
    if column.type == "bool":
        lowered = text.lower()
        if lowered in TRUE_WORDS:
            return True
        if lowered in FALSE_WORDS:
            return False
        raise BadValue("not true or false")
    if column.type == "date":
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise BadValue("not a date (use YYYY-MM-DD)") from exc
    if column.type == "datetime":
        return _parse_datetime(text)
    if column.type == "int":
        value = _parse_int(text)
    elif column.type == "decimal":
        value = _parse_decimal(text, column)
    else:  # pragma: no cover - schemas above use only the types handled here
        raise AssertionError(column.type)
    low, high = column.bound("min"), column.bound("max")
    if low is not None and value < low:
        raise BadValue("negative" if value < 0 else f"below the minimum {low}")
    if high is not None and (value >= high if column.exclusive_max else value > high):
        raise BadValue(f"{'not below' if column.exclusive_max else 'above'} the maximum {high}")
    return value


@dataclass
class ParsedRow:
    line: int
    values: dict[str, Any]
    raw: dict[str, str]
    ok: bool = True


@dataclass
class ParsedFile:
    schema: Schema
    header: list[str]
    rows: list[ParsedRow]
    problems: list[CsvProblem]

    def has(self, column: str) -> bool:
        return column in self.header


def _text_stream(source) -> Iterable[str]:
    """Accept a text stream, a binary stream (uploads) or a string; strip a UTF-8 byte-order mark."""
    if isinstance(source, str):
        return io.StringIO(source.removeprefix("\ufeff"))
    if isinstance(source, bytes):
        return io.StringIO(source.decode("utf-8-sig"))
    if isinstance(source, io.TextIOBase) or hasattr(source, "encoding"):
        return source
    return io.TextIOWrapper(source, encoding="utf-8-sig", newline="")


def parse_csv(schema: Schema, source) -> ParsedFile:
    """Read every row, keep the good values and list every bad one: nothing stops at the first error."""
    problems: list[CsvProblem] = []
    try:
        # Strict: a value cut off inside its quotes (a truncated file) is an error, not a value.
        reader = csv.reader(_text_stream(source), strict=True)
        header_row = next(reader, None)
    except UnicodeDecodeError:
        return ParsedFile(schema, [], [], [CsvProblem(1, "", "", "the file is not UTF-8 text")])
    if header_row is None:
        return ParsedFile(schema, [], [], [CsvProblem(1, "", "", "the file is empty (no header line)")])
    header = [h.strip().lstrip("\ufeff") for h in header_row]
    known = set(schema.names)
    seen: set[str] = set()
    for name in header:
        if name not in known:
            problems.append(CsvProblem(1, name, name, f"unknown column for {schema.kind}"))
        elif name in seen:
            problems.append(CsvProblem(1, name, name, "column appears twice in the header"))
        seen.add(name)
    for column in schema.columns:
        if column.required and column.name not in seen:
            problems.append(CsvProblem(1, column.name, "", "missing required column"))
    present = [c for c in schema.columns if c.name in seen]
    positions = {name: header.index(name) for name in seen if name in known}

    rows: list[ParsedRow] = []
    previous_end = 1
    try:
        for cells in reader:
            # A quoted value may span lines: report the line the row starts on.
            line = previous_end + 1
            previous_end = reader.line_num
            if not cells or all(not c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                problems.append(
                    CsvProblem(line, "", "", f"row has {len(cells)} fields, the header has {len(header)}")
                )
                continue
            raw = {c.name: cells[positions[c.name]].strip() for c in present}
            values: dict[str, Any] = {}
            row_ok = True
            for column in present:
                text = raw[column.name]
                if text == "":
                    if column.required:
                        problems.append(CsvProblem(line, column.name, "", "required value is blank"))
                        row_ok = False
                    else:
                        values[column.name] = column.default
                    continue
                try:
                    values[column.name] = parse_value(column, text)
                except BadValue as exc:
                    problems.append(CsvProblem(line, column.name, text, str(exc)))
                    row_ok = False
            # A bad row is kept (not ok) so cross-row checks such as duplicate keys still see it.
            rows.append(ParsedRow(line, values, raw, row_ok))
    except csv.Error as exc:
        # Reported on the line the broken row starts on, which is where the quote to fix is.
        reason = CSV_ERRORS.get(str(exc), f"broken CSV: {exc}")
        problems.append(CsvProblem(previous_end + 1, "", "", reason))
    except UnicodeDecodeError:
        problems.append(CsvProblem(previous_end + 1, "", "", "the file is not UTF-8 text"))
    return ParsedFile(schema, header, rows, problems)
