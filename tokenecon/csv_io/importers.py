"""Importing CSV files: validate every row first, then write everything in one transaction or nothing.

Each kind is an upsert keyed by its external id: new keys are created, changed rows updated,
unchanged rows left alone, so importing the same file twice changes nothing. Enrollments are
purchases through the ledger (``post_transfers_bulk`` with ``purchase_legs``), keyed by the
enrollment id so no token ever moves twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Sum

from tokenecon.csv_io.errors import CsvProblem, CsvValidationError
from tokenecon.csv_io.schemas import SCHEMAS, ParsedFile, ParsedRow, parse_csv
from tokenecon.models import (
    Account,
    AccountKind,
    Course,
    Enrollment,
    EnrollmentStatus,
    Entry,
    Learner,
    LearnerActivity,
    PriceChange,
    Teacher,
    Transfer,
    TransferKind,
)
from tokenecon.services.enrollment import purchase_legs
from tokenecon.services.ledger import TransferSpec, platform_account, post_transfers_bulk

IMPORT_KINDS = ("teachers", "courses", "learners", "price_history", "enrollments", "activity")
# SQLite allows 32k bound parameters; chunks keep IN lists and bulk statements well below that.
CHUNK = 900
BATCH = 2000
LEDGER_BATCH = 5000
FUNDING_KINDS_EXCLUDED = (TransferKind.PURCHASE, TransferKind.REFUND)


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    transfers: int = 0
    problems: list[CsvProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        data = asdict(self)
        data["problems"] = [p.as_dict() for p in self.problems]
        return data


def chunked(values: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def ensure_accounts(*, kind: str, user_ids: Iterable[int]) -> dict[int, int]:
    """Map user id to their account id of ``kind``, creating missing accounts in bulk."""
    wanted = sorted(set(user_ids))
    found: dict[int, int] = {}
    for chunk in chunked(wanted):
        found.update(Account.objects.filter(kind=kind, owner_id__in=chunk).values_list("owner_id", "pk"))
    missing = [u for u in wanted if u not in found]
    if missing:
        Account.objects.bulk_create([Account(kind=kind, owner_id=u) for u in missing], batch_size=BATCH)
        for chunk in chunked(missing):
            found.update(Account.objects.filter(kind=kind, owner_id__in=chunk).values_list("owner_id", "pk"))
    return found


class Importer:
    """Plan (read-only validation and diff) then write. Subclasses fill in both halves."""

    kind: str

    def __init__(self, parsed: ParsedFile):
        self.parsed = parsed
        self.problems: list[CsvProblem] = list(parsed.problems)
        self.result = ImportResult(kind=self.kind, rows=len(parsed.rows))

    # -- helpers shared by every kind -------------------------------------------------------------
    def problem(self, row: ParsedRow, column: str, reason: str, value: Any = None) -> None:
        text = row.raw.get(column, "") if value is None else str(value)
        self.problems.append(CsvProblem(row.line, column, text, reason))
        row.ok = False

    def good_rows(self) -> list[ParsedRow]:
        return [r for r in self.parsed.rows if r.ok]

    def check_unique(self, key_columns: tuple[str, ...], rows: Iterable[ParsedRow] | None = None) -> None:
        """Flag a key that repeats inside the file, naming the line where it first appeared."""
        first_line: dict[tuple, int] = {}
        for row in self.parsed.rows if rows is None else rows:
            key = tuple(row.values.get(c) if row.ok else row.raw.get(c, "") for c in key_columns)
            if any(v in (None, "") for v in key[:1]):
                continue
            if key in first_line:
                shown = ", ".join(row.raw.get(c, "") for c in key_columns)
                self.problem(
                    row,
                    key_columns[0] if len(key_columns) == 1 else "+".join(key_columns),
                    f"duplicate id within the file (first on line {first_line[key]})",
                    value=shown,
                )
            else:
                first_line[key] = row.line

    def lookup(self, row: ParsedRow, column: str, mapping: dict, what: str) -> Any:
        value = row.values.get(column)
        if value in (None, ""):
            return None
        if value not in mapping:
            self.problem(row, column, f"unknown {what}")
            return None
        return mapping[value]

    def present(self, column: str) -> bool:
        return self.parsed.has(column)

    @staticmethod
    def changed_fields(obj: Any, values: dict[str, Any]) -> list[str]:
        return [name for name, value in values.items() if getattr(obj, name) != value]

    # -- the two halves ---------------------------------------------------------------------------
    def plan(self) -> None:
        raise NotImplementedError

    def write(self) -> None:
        raise NotImplementedError


class PeopleImporter(Importer):
    """Teachers and learners: a person row, its user (unusable password) and its token account."""

    model: type[Teacher] | type[Learner]
    account_kind: str
    person_fields: tuple[str, ...]

    def plan(self) -> None:
        self.check_unique(("external_id",))
        rows = self.good_rows()
        ids = [r.values["external_id"] for r in rows]
        self.existing: dict[str, Any] = {}
        for chunk in chunked(ids):
            self.existing.update(
                (p.external_id, p)
                for p in self.model.objects.select_related("user").filter(external_id__in=chunk)
            )
        usernames = {self.username_of(r) for r in rows}
        taken: dict[str, int] = {}
        user_model = get_user_model()
        for chunk in chunked(sorted(usernames)):
            taken.update(user_model.objects.filter(username__in=chunk).values_list("username", "pk"))
        username_line: dict[str, int] = {}
        self.to_create: list[ParsedRow] = []
        self.person_updates: dict[str, set[str]] = {}
        self.user_updates: dict[str, set[str]] = {}
        for row in rows:
            person = self.existing.get(row.values["external_id"])
            username = self.username_of(row)
            own_user_id = person.user_id if person else None
            if username in username_line:
                self.problem(
                    row,
                    "username",
                    f"username used twice in the file (first on line {username_line[username]})",
                )
                continue
            username_line[username] = row.line
            if (
                username in taken
                and taken[username] != own_user_id
                and (person is None or self.present("username"))
            ):
                self.problem(row, "username", "username already belongs to another user", value=username)
                continue
            self.check_row(row)
            if not row.ok:
                continue
            if person is None:
                self.to_create.append(row)
                continue
            person_values = self.person_values(row, creating=False)
            changed = self.changed_fields(person, person_values)
            user_values = {}
            if self.present("username"):
                user_values["username"] = username
            if self.present("email"):
                user_values["email"] = row.values["email"]
            user_changed = self.changed_fields(person.user, user_values)
            for name in changed:
                setattr(person, name, person_values[name])
            for name in user_changed:
                setattr(person.user, name, user_values[name])
            if changed:
                self.person_updates[person.external_id] = set(changed)
            if user_changed:
                self.user_updates[person.external_id] = set(user_changed)
            if changed or user_changed:
                self.result.updated += 1
            else:
                self.result.unchanged += 1
        self.result.created = len(self.to_create)

    def username_of(self, row: ParsedRow) -> str:
        return row.values.get("username") or row.values.get("external_id") or row.raw.get("external_id", "")

    def check_row(self, row: ParsedRow) -> None:
        """Cross-column rules of one row; none for plain people."""

    def person_values(self, row: ParsedRow, *, creating: bool) -> dict[str, Any]:
        """Values of the columns present in the file; absent optional columns keep the stored value."""
        values = {}
        for name in self.person_fields:
            if self.present(name):
                values[name] = row.values[name]
            elif creating:
                values[name] = self.parsed.schema.column(name).default
        return values

    def write(self) -> None:
        user_model = get_user_model()
        # One random unusable hash per user: they sign in only after a password reset.
        users = [
            user_model(
                username=self.username_of(r), email=r.values.get("email") or "", password=make_password(None)
            )
            for r in self.to_create
        ]
        user_model.objects.bulk_create(users, batch_size=BATCH)
        people = [
            self.model(
                user_id=u.pk, external_id=r.values["external_id"], **self.person_values(r, creating=True)
            )
            for u, r in zip(users, self.to_create, strict=True)
        ]
        self.model.objects.bulk_create(people, batch_size=BATCH)
        Account.objects.bulk_create(
            [Account(kind=self.account_kind, owner_id=u.pk) for u in users], batch_size=BATCH
        )
        updated = [self.existing[i] for i in self.person_updates]
        if updated:
            fields = sorted(set().union(*self.person_updates.values()))
            self.model.objects.bulk_update(updated, fields, batch_size=BATCH)
        updated_users = [self.existing[i].user for i in self.user_updates]
        if updated_users:
            fields = sorted(set().union(*self.user_updates.values()))
            user_model.objects.bulk_update(updated_users, fields, batch_size=BATCH)


class TeacherImporter(PeopleImporter):
    kind = "teachers"
    model = Teacher
    account_kind = AccountKind.TEACHER_EARNINGS
    person_fields = ("display_name", "bio", "quality_score", "years_experience", "joined_on")


class LearnerImporter(PeopleImporter):
    kind = "learners"
    model = Learner
    account_kind = AccountKind.LEARNER_WALLET
    person_fields = ("joined_on", "country", "age_group", "education", "acquisition_channel")

    def plan(self) -> None:
        super().plan()
        self.fundings: list[tuple[str, date, int, int]] = []  # external id, joined on, target, top-up
        if not self.present("tokens_funded"):
            return
        funded = wallet_funding_by_user()
        for row in self.good_rows():
            target = row.values.get("tokens_funded")
            if target is None:
                continue
            person = self.existing.get(row.values["external_id"])
            current = funded.get(person.user_id, 0) if person else 0
            if target > current:
                self.fundings.append(
                    (row.values["external_id"], row.values["joined_on"], target, target - current)
                )
                if person is not None and person.external_id not in self.person_updates | self.user_updates:
                    self.result.unchanged -= 1
                    self.result.updated += 1

    def write(self) -> None:
        super().write()
        if not self.fundings:
            return
        user_of = {}
        ids = [f[0] for f in self.fundings]
        for chunk in chunked(ids):
            user_of.update(
                Learner.objects.filter(external_id__in=chunk).values_list("external_id", "user_id")
            )
        wallets = ensure_accounts(kind=AccountKind.LEARNER_WALLET, user_ids=user_of.values())
        treasury = platform_account(AccountKind.PLATFORM_TREASURY).pk
        specs = [
            TransferSpec(
                kind=TransferKind.TOP_UP,
                # The target is in the key: raising it later tops up again, the same file never does.
                idempotency_key=f"csv-import-fund-{external_id}-{target}",
                legs=((treasury, -amount), (wallets[user_of[external_id]], amount)),
                memo=f"CSV import top-up: wallet of {external_id} funded to {target} tokens",
                created_at=midnight_utc(joined_on),
            )
            for external_id, joined_on, target, amount in self.fundings
        ]
        for chunk in chunked(specs, LEDGER_BATCH):
            self.result.transfers += len(post_transfers_bulk(chunk))


def wallet_funding_by_user() -> dict[int, int]:
    """Net tokens each learner's wallet received other than by purchases and refunds, by user id."""
    rows = (
        Entry.objects.filter(account__kind=AccountKind.LEARNER_WALLET)
        .exclude(transfer__kind__in=FUNDING_KINDS_EXCLUDED)
        .values("account__owner_id")
        .annotate(total=Sum("amount_tokens"))
        .values_list("account__owner_id", "total")
    )
    return dict(rows)


class CourseImporter(Importer):
    kind = "courses"
    fields = (
        "title",
        "description",
        "category",
        "difficulty",
        "duration_hours",
        "certificate_offered",
        "launch_date",
        "price_tokens",
        "price_floor_tokens",
        "status",
    )

    def plan(self) -> None:
        self.check_unique(("code",))
        teachers = dict(Teacher.objects.values_list("external_id", "pk"))
        rows = self.good_rows()
        self.existing: dict[str, Course] = {}
        for chunk in chunked([r.values["code"] for r in rows]):
            self.existing.update((c.code, c) for c in Course.objects.filter(code__in=chunk))
        self.to_create: list[Course] = []
        self.to_update: list[Course] = []
        self.update_fields: set[str] = set()
        for row in rows:
            teacher_id = self.lookup(
                row, "teacher_id", teachers, "teacher (no teacher with this external id)"
            )
            if not row.ok:
                continue
            values = {name: row.values[name] for name in self.fields if self.present(name)}
            values["teacher_id"] = teacher_id
            course = self.existing.get(row.values["code"])
            if course is None:
                defaults = {n: self.parsed.schema.column(n).default for n in self.fields if n not in values}
                self.to_create.append(Course(code=row.values["code"], **defaults, **values))
                continue
            changed = self.changed_fields(course, values)
            if changed:
                for name in changed:
                    setattr(course, name, values[name])
                self.to_update.append(course)
                self.update_fields.update(changed)
            else:
                self.result.unchanged += 1
        self.result.created = len(self.to_create)
        self.result.updated = len(self.to_update)

    def write(self) -> None:
        Course.objects.bulk_create(self.to_create, batch_size=BATCH)
        if self.to_update:
            Course.objects.bulk_update(self.to_update, sorted(self.update_fields), batch_size=BATCH)


class PriceHistoryImporter(Importer):
    kind = "price_history"
    fields = ("new_price_tokens", "old_price_tokens", "source", "approved_by_id", "note")

    def plan(self) -> None:
        self.check_unique(("course_code", "effective_at"))
        courses = dict(Course.objects.values_list("code", "pk"))
        rows = self.good_rows()
        usernames = sorted({r.values["approved_by"] for r in rows if r.values.get("approved_by")})
        users: dict[str, int] = {}
        for chunk in chunked(usernames):
            users.update(get_user_model().objects.filter(username__in=chunk).values_list("username", "pk"))
        course_ids = sorted(
            {courses[r.values["course_code"]] for r in rows if r.values["course_code"] in courses}
        )
        existing: dict[tuple[int, datetime], PriceChange] = {}
        for chunk in chunked(course_ids):
            for change in PriceChange.objects.filter(course_id__in=chunk).order_by("pk"):
                existing.setdefault((change.course_id, change.effective_at), change)
        self.to_create: list[PriceChange] = []
        self.to_update: list[PriceChange] = []
        self.update_fields: set[str] = set()
        for row in rows:
            course_id = self.lookup(row, "course_code", courses, "course (no course with this code)")
            approver_id = self.lookup(row, "approved_by", users, "user (no user with this username)")
            if not row.ok:
                continue
            values = {
                "new_price_tokens": row.values["new_price_tokens"],
                **{n: row.values[n] for n in ("old_price_tokens", "source", "note") if self.present(n)},
            }
            if self.present("approved_by"):
                values["approved_by_id"] = approver_id
            change = existing.get((course_id, row.values["effective_at"]))
            if change is None:
                defaults = {
                    n: self.parsed.schema.column(n).default
                    for n in ("old_price_tokens", "source", "note")
                    if n not in values
                }
                self.to_create.append(
                    PriceChange(
                        course_id=course_id, effective_at=row.values["effective_at"], **defaults, **values
                    )
                )
                continue
            changed = self.changed_fields(change, values)
            if changed:
                for name in changed:
                    setattr(change, name, values[name])
                self.to_update.append(change)
                self.update_fields.update(changed)
            else:
                self.result.unchanged += 1
        self.result.created = len(self.to_create)
        self.result.updated = len(self.to_update)

    def write(self) -> None:
        PriceChange.objects.bulk_create(self.to_create, batch_size=BATCH)
        if self.to_update:
            PriceChange.objects.bulk_update(self.to_update, sorted(self.update_fields), batch_size=BATCH)


@dataclass
class NewEnrollment:
    row: ParsedRow
    enrollment: Enrollment
    wallet_user_id: int
    earnings_user_id: int
    memo: str


class EnrollmentImporter(Importer):
    kind = "enrollments"
    immutable = (
        "learner_id",
        "course_id",
        "enrolled_at",
        "list_price_tokens",
        "price_paid_tokens",
        "discount_pct",
    )
    mutable = ("status", "progress_pct", "completed_at", "rating")

    def plan(self) -> None:
        self.check_unique(("enrollment_id",))
        learners = {
            ext: (pk, user_id)
            for ext, pk, user_id in Learner.objects.values_list("external_id", "pk", "user_id")
        }
        courses = {
            code: (pk, teacher_user_id, f"{code} {title}"[:255])
            for code, pk, teacher_user_id, title in Course.objects.values_list(
                "code", "pk", "teacher__user_id", "title"
            )
        }
        rows = self.good_rows()
        for row in rows:
            self.check_row_rules(row)
        rows = self.good_rows()
        resolved: dict[int, tuple] = {}
        for row in rows:
            learner = self.lookup(row, "learner_id", learners, "learner (no learner with this external id)")
            course = self.lookup(row, "course_code", courses, "course (no course with this code)")
            if row.ok:
                resolved[row.line] = (learner, course)
        rows = self.good_rows()

        by_external: dict[str, Enrollment] = {}
        for chunk in chunked([r.values["enrollment_id"] for r in rows]):
            by_external.update((e.external_id, e) for e in Enrollment.objects.filter(external_id__in=chunk))
        # Enrollments bought in the app have no external id; an exported file names them
        # ``local-<pk>``. Any such row with the same learner, course and time is adopted.
        unnamed = {
            (e.learner_id, e.course_id, e.enrolled_at): e
            for e in Enrollment.objects.filter(external_id__isnull=True)
        }
        live_pairs = dict(
            ((learner_id, course_id), pk)
            for learner_id, course_id, pk in Enrollment.objects.exclude(
                status=EnrollmentStatus.REFUNDED
            ).values_list("learner_id", "course_id", "pk")
        )

        self.new: list[NewEnrollment] = []
        self.to_update: list[Enrollment] = []
        self.update_fields: set[str] = set()
        self.refunds_of_existing: list[tuple[ParsedRow, Enrollment]] = []
        matched: dict[int, Enrollment] = {}
        for row in rows:
            (learner_id, wallet_user_id), (course_id, earnings_user_id, memo) = resolved[row.line]
            values = self.enrollment_values(row, learner_id, course_id)
            existing = by_external.get(values["external_id"]) or unnamed.pop(
                (learner_id, course_id, values["enrolled_at"]), None
            )
            if existing is None:
                self.new.append(
                    NewEnrollment(row, Enrollment(**values), wallet_user_id, earnings_user_id, memo)
                )
                continue
            matched[row.line] = existing
            self.plan_existing(row, existing, values)
        self.check_refunds_of_existing()

        # One live enrollment per learner and course, over the database and the file together.
        for _row, enrollment in self.refunds_of_existing:
            live_pairs.pop((enrollment.learner_id, enrollment.course_id), None)
        first_line: dict[tuple[int, int], int] = {}
        for row in self.good_rows():
            if row.values.get("status") == EnrollmentStatus.REFUNDED:
                continue
            learner_id, course_id = resolved[row.line][0][0], resolved[row.line][1][0]
            pair = (learner_id, course_id)
            own = matched.get(row.line)
            if pair in first_line:
                self.problem(
                    row,
                    "course_code",
                    f"learner already enrolled in this course on line {first_line[pair]} "
                    "(only one enrollment that is not refunded is allowed)",
                )
            elif pair in live_pairs and (own is None or live_pairs[pair] != own.pk):
                self.problem(
                    row,
                    "course_code",
                    f"learner already has an enrollment in this course in the database (#{live_pairs[pair]})",
                )
            first_line.setdefault(pair, row.line)
        bad_lines = {p.line for p in self.problems}
        self.new = [n for n in self.new if n.row.line not in bad_lines]
        self.result.created = len(self.new)

    def check_row_rules(self, row: ParsedRow) -> None:
        v = row.values
        if v["price_paid_tokens"] > v["list_price_tokens"]:
            self.problem(row, "price_paid_tokens", f"paid above the list price {v['list_price_tokens']}")
        completed_at = v.get("completed_at")
        if completed_at is not None and completed_at < v["enrolled_at"]:
            self.problem(row, "completed_at", "completion before enrollment")
        status = v.get("status", EnrollmentStatus.ACTIVE)
        if status == EnrollmentStatus.COMPLETED:
            if completed_at is None:
                self.problem(row, "completed_at", "required for a completed enrollment")
            if v.get("progress_pct", 0) != 100:
                self.problem(row, "progress_pct", "a completed enrollment has progress 100")
        refunded_at = v.get("refunded_at")
        if refunded_at is not None:
            if status != EnrollmentStatus.REFUNDED:
                self.problem(row, "refunded_at", "only a refunded enrollment has a refund time")
            elif refunded_at < v["enrolled_at"]:
                self.problem(row, "refunded_at", "refund before enrollment")

    def enrollment_values(self, row: ParsedRow, learner_id: int, course_id: int) -> dict[str, Any]:
        v = row.values
        return {
            "external_id": v["enrollment_id"],
            "learner_id": learner_id,
            "course_id": course_id,
            "enrolled_at": v["enrolled_at"],
            "list_price_tokens": v["list_price_tokens"],
            "price_paid_tokens": v["price_paid_tokens"],
            "discount_pct": v.get("discount_pct", 0),
            "status": v.get("status", EnrollmentStatus.ACTIVE),
            "progress_pct": v.get("progress_pct", 0),
            "completed_at": v.get("completed_at"),
            "rating": v.get("rating"),
        }

    def plan_existing(self, row: ParsedRow, existing: Enrollment, values: dict[str, Any]) -> None:
        csv_column = {"learner_id": "learner_id", "course_id": "course_code"}
        for name in self.immutable:
            if name == "discount_pct" and not self.present(name):
                continue
            if getattr(existing, name) != values[name]:
                stored = getattr(existing, name)
                self.problem(
                    row,
                    csv_column.get(name, name),
                    f"cannot change an enrollment already paid through the ledger (stored: {stored})",
                )
        if not row.ok:
            return
        was_refunded = existing.status == EnrollmentStatus.REFUNDED
        now_refunded = values["status"] == EnrollmentStatus.REFUNDED
        if was_refunded and not now_refunded:
            self.problem(row, "status", "a refunded enrollment cannot be reinstated")
            return
        updates = {n: values[n] for n in self.mutable if self.present(n) or n == "status"}
        if existing.external_id is None:
            updates["external_id"] = values["external_id"]
        changed = self.changed_fields(existing, updates)
        if now_refunded and not was_refunded:
            self.refunds_of_existing.append((row, existing))
        if changed:
            for name in changed:
                setattr(existing, name, updates[name])
            self.to_update.append(existing)
            self.update_fields.update(changed)
            self.result.updated += 1
        else:
            self.result.unchanged += 1

    def check_refunds_of_existing(self) -> None:
        """A refund takes the teacher's share back: it must still be in their earnings account."""
        self.existing_purchases: dict[int, Transfer] = {}
        self.refund_legs: dict[int, tuple[tuple[int, int], ...]] = {}
        if not self.refunds_of_existing:
            return
        ids = [e.pk for _, e in self.refunds_of_existing]
        for chunk in chunked(ids):
            for transfer in Transfer.objects.filter(enrollment_id__in=chunk, kind=TransferKind.PURCHASE):
                self.existing_purchases[transfer.enrollment_id] = transfer
        already_refunded = set()
        for chunk in chunked(ids):
            already_refunded.update(
                Transfer.objects.filter(enrollment_id__in=chunk, kind=TransferKind.REFUND).values_list(
                    "enrollment_id", flat=True
                )
            )
        needed: dict[int, int] = defaultdict(int)
        lines: dict[int, list[ParsedRow]] = defaultdict(list)
        entries = Entry.objects.filter(transfer__in=list(self.existing_purchases.values())).values_list(
            "transfer__enrollment_id", "account_id", "amount_tokens"
        )
        purchase_legs_of: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for enrollment_id, account_id, amount in entries:
            purchase_legs_of[enrollment_id].append((account_id, amount))
        for row, enrollment in self.refunds_of_existing:
            if enrollment.pk not in self.existing_purchases:
                self.problem(row, "status", "cannot refund: the enrollment has no purchase transfer")
                continue
            if enrollment.pk in already_refunded:
                continue
            legs = tuple((account_id, -amount) for account_id, amount in purchase_legs_of[enrollment.pk])
            self.refund_legs[enrollment.pk] = legs
            for account_id, amount in legs:
                if amount < 0:
                    needed[account_id] += -amount
                    lines[account_id].append(row)
        balances = dict(Account.objects.filter(pk__in=list(needed)).values_list("pk", "balance_tokens"))
        kinds = dict(Account.objects.filter(pk__in=list(needed)).values_list("pk", "kind"))
        for account_id, amount in needed.items():
            if kinds[account_id] != AccountKind.PLATFORM_TREASURY and balances[account_id] < amount:
                for row in lines[account_id]:
                    self.problem(
                        row,
                        "status",
                        f"cannot refund: {kinds[account_id]} account holds {balances[account_id]} tokens, "
                        f"the refunds need {amount}",
                    )

    def write(self) -> None:
        if self.to_update:
            Enrollment.objects.bulk_update(self.to_update, sorted(self.update_fields), batch_size=BATCH)
        refund_specs = [
            TransferSpec(
                kind=TransferKind.REFUND,
                idempotency_key=f"csv-import-refund-{enrollment.external_id}",
                legs=self.refund_legs[enrollment.pk],
                memo=f"Refund of enrollment {enrollment.external_id} (CSV import)",
                created_at=row.values.get("refunded_at") or None,
                enrollment_id=enrollment.pk,
                reverses_id=self.existing_purchases[enrollment.pk].pk,
            )
            for row, enrollment in self.refunds_of_existing
            if enrollment.pk in self.refund_legs
        ]
        for chunk in chunked(refund_specs, LEDGER_BATCH):
            self.result.transfers += len(post_transfers_bulk(chunk))
        if self.new:
            self.write_new()

    def write_new(self) -> None:
        Enrollment.objects.bulk_create([n.enrollment for n in self.new], batch_size=BATCH)
        wallets = ensure_accounts(
            kind=AccountKind.LEARNER_WALLET, user_ids={n.wallet_user_id for n in self.new}
        )
        earnings = ensure_accounts(
            kind=AccountKind.TEACHER_EARNINGS, user_ids={n.earnings_user_id for n in self.new}
        )
        revenue = platform_account(AccountKind.PLATFORM_REVENUE).pk
        treasury = platform_account(AccountKind.PLATFORM_TREASURY).pk
        balance: dict[int, int] = {}
        for chunk in chunked(sorted(set(wallets.values()))):
            balance.update(Account.objects.filter(pk__in=chunk).values_list("pk", "balance_tokens"))

        # A refund must reverse a posted purchase (it needs its id), yet a wallet may re-spend
        # refunded tokens on a later purchase. So purchases go in rounds: a wallet moves to the
        # next round when it needs tokens from a refund still pending; each round's refunds are
        # posted before the next round. Order within each wallet stays chronological, and a
        # wallet funded as in the source system never needs an import top-up.
        purchases_by_round: list[list[TransferSpec]] = [[]]
        refunds_by_round: list[list[tuple[NewEnrollment, tuple[tuple[int, int], ...]]]] = [[]]
        round_of_wallet: dict[int, int] = defaultdict(int)
        pending_by_wallet: dict[int, int] = defaultdict(int)
        for new in sorted(self.new, key=lambda n: (n.enrollment.enrolled_at, n.enrollment.external_id)):
            enrollment = new.enrollment
            wallet_id = wallets[new.wallet_user_id]
            paid = enrollment.price_paid_tokens
            if balance[wallet_id] < paid and pending_by_wallet[wallet_id]:
                round_of_wallet[wallet_id] += 1
                balance[wallet_id] += pending_by_wallet.pop(wallet_id)
            current = round_of_wallet[wallet_id]
            if current == len(purchases_by_round):
                purchases_by_round.append([])
                refunds_by_round.append([])
            specs = purchases_by_round[current]
            if balance[wallet_id] < paid:
                shortfall = paid - balance[wallet_id]
                specs.append(
                    TransferSpec(
                        kind=TransferKind.TOP_UP,
                        idempotency_key=f"csv-import-topup-{enrollment.external_id}",
                        legs=((treasury, -shortfall), (wallet_id, shortfall)),
                        memo=f"CSV import top-up to pay for enrollment {enrollment.external_id}",
                        created_at=enrollment.enrolled_at,
                    )
                )
                balance[wallet_id] += shortfall
            legs = purchase_legs(
                wallet_id=wallet_id,
                earnings_id=earnings[new.earnings_user_id],
                revenue_id=revenue,
                paid_tokens=paid,
            )
            specs.append(
                TransferSpec(
                    kind=TransferKind.PURCHASE,
                    idempotency_key=f"csv-import-purchase-{enrollment.external_id}",
                    legs=legs,
                    memo=new.memo,
                    created_at=enrollment.enrolled_at,
                    enrollment_id=enrollment.pk,
                )
            )
            balance[wallet_id] -= paid
            if enrollment.status == EnrollmentStatus.REFUNDED:
                refunds_by_round[current].append((new, legs))
                pending_by_wallet[wallet_id] += paid

        for purchases, refunds in zip(purchases_by_round, refunds_by_round, strict=True):
            for chunk in chunked(purchases, LEDGER_BATCH):
                self.result.transfers += len(post_transfers_bulk(chunk))
            if refunds:
                self.post_refunds_of_new(refunds)

    def post_refunds_of_new(self, refunds: list[tuple[NewEnrollment, tuple[tuple[int, int], ...]]]) -> None:
        keys = [f"csv-import-purchase-{n.enrollment.external_id}" for n, _ in refunds]
        purchase_ids: dict[str, int] = {}
        for chunk in chunked(keys):
            purchase_ids.update(
                Transfer.objects.filter(idempotency_key__in=chunk).values_list("idempotency_key", "pk")
            )
        specs = [
            TransferSpec(
                kind=TransferKind.REFUND,
                idempotency_key=f"csv-import-refund-{n.enrollment.external_id}",
                legs=tuple((account_id, -amount) for account_id, amount in legs),
                memo=f"Refund of enrollment {n.enrollment.external_id} (CSV import)",
                created_at=n.row.values.get("refunded_at") or n.enrollment.enrolled_at,
                enrollment_id=n.enrollment.pk,
                reverses_id=purchase_ids[key],
            )
            for (n, legs), key in zip(refunds, keys, strict=True)
        ]
        for chunk in chunked(specs, LEDGER_BATCH):
            self.result.transfers += len(post_transfers_bulk(chunk))


class ActivityImporter(Importer):
    kind = "activity"
    fields = ("lessons_completed", "minutes", "forum_posts", "assignments_submitted")

    def plan(self) -> None:
        self.check_unique(("learner_id", "day", "course_code"))
        learners = dict(Learner.objects.values_list("external_id", "pk"))
        courses = dict(Course.objects.values_list("code", "pk"))
        rows = self.good_rows()
        resolved = []
        for row in rows:
            learner_id = self.lookup(
                row, "learner_id", learners, "learner (no learner with this external id)"
            )
            course_id = self.lookup(row, "course_code", courses, "course (no course with this code)")
            if row.ok:
                resolved.append((row, learner_id, course_id))
        existing: dict[tuple, LearnerActivity] = {}
        if resolved:
            days = [row.values["day"] for row, _, _ in resolved]
            for activity in LearnerActivity.objects.filter(day__gte=min(days), day__lte=max(days)):
                existing[(activity.learner_id, activity.day, activity.course_id)] = activity
        self.to_create: list[LearnerActivity] = []
        self.to_update: list[LearnerActivity] = []
        self.update_fields: set[str] = set()
        for row, learner_id, course_id in resolved:
            values = {n: row.values[n] for n in self.fields if self.present(n)}
            activity = existing.get((learner_id, row.values["day"], course_id))
            if activity is None:
                defaults = {n: self.parsed.schema.column(n).default for n in self.fields if n not in values}
                self.to_create.append(
                    LearnerActivity(
                        learner_id=learner_id,
                        day=row.values["day"],
                        course_id=course_id,
                        **defaults,
                        **values,
                    )
                )
                continue
            changed = self.changed_fields(activity, values)
            if changed:
                for name in changed:
                    setattr(activity, name, values[name])
                self.to_update.append(activity)
                self.update_fields.update(changed)
            else:
                self.result.unchanged += 1
        self.result.created = len(self.to_create)
        self.result.updated = len(self.to_update)

    def write(self) -> None:
        LearnerActivity.objects.bulk_create(self.to_create, batch_size=BATCH)
        if self.to_update:
            LearnerActivity.objects.bulk_update(self.to_update, sorted(self.update_fields), batch_size=BATCH)


IMPORTERS: dict[str, type[Importer]] = {
    "teachers": TeacherImporter,
    "courses": CourseImporter,
    "learners": LearnerImporter,
    "price_history": PriceHistoryImporter,
    "enrollments": EnrollmentImporter,
    "activity": ActivityImporter,
}


def _planned(kind: str, source) -> Importer:
    if kind not in IMPORTERS:
        raise CsvValidationError(
            [CsvProblem(1, "", kind, f"unknown kind; choose one of {', '.join(IMPORT_KINDS)}")], kind=kind
        )
    parsed = parse_csv(SCHEMAS[kind], source)
    importer = IMPORTERS[kind](parsed)
    if not any(p.line == 1 for p in parsed.problems):
        importer.plan()
    importer.result.problems = sorted(importer.problems)
    return importer


def preview_import(*, kind: str, source) -> ImportResult:
    """Validate a file and count what it would create and update, writing nothing."""
    return _planned(kind, source).result


def import_csv(*, kind: str, source) -> ImportResult:
    """Import one CSV file of ``kind``: every row valid and written, or ``CsvValidationError`` and nothing.

    Validation runs inside the same transaction as the writes, so the rows checked are the rows
    written even when someone else changes the data between a preview and the import.
    """
    with transaction.atomic(durable=True):
        importer = _planned(kind, source)
        if importer.result.problems:
            raise CsvValidationError(importer.result.problems, kind=kind)
        importer.write()
    return importer.result
