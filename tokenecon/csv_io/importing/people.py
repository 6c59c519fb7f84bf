"""Importing teachers and learners: a person row, its user (unusable password) and its token account.

The person is an ``Upsert`` keyed by external id; the user's username and e-mail are compared
and updated alongside it. A learner's ``tokens_funded`` tops the wallet up through the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import models

from tokenecon.csv_io.importing.engine import BATCH, NewRow, Upsert, UpsertKind, chunked
from tokenecon.csv_io.importing.ledger import ensure_accounts, post_in_batches, wallet_funding_by_user
from tokenecon.csv_io.schemas import ParsedFile, ParsedRow
from tokenecon.models import Account, AccountKind, Learner, Teacher, TransferKind
from tokenecon.services.ledger import TransferSpec, platform_account


def people_with_users(model: type[Teacher] | type[Learner]):
    """The stored people of the file's external ids, with their users."""

    def stored(keys: list[tuple]) -> list[models.Model]:
        found = []
        for chunk in chunked([k[0] for k in keys]):
            found.extend(model.objects.select_related("user").filter(external_id__in=chunk))
        return found

    return stored


@dataclass(frozen=True)
class PeopleKind(UpsertKind):
    account_kind: str = ""


def people_kind(
    model: type[Teacher] | type[Learner], fields: tuple[str, ...], account_kind: str
) -> PeopleKind:
    return PeopleKind(
        model=model,
        key=("external_id",),
        fields=fields,
        stored=people_with_users(model),
        account_kind=account_kind,
    )


TEACHERS = people_kind(
    Teacher,
    ("display_name", "bio", "quality_score", "years_experience", "joined_on"),
    AccountKind.TEACHER_EARNINGS,
)
LEARNERS = people_kind(
    Learner,
    ("joined_on", "country", "age_group", "education", "acquisition_channel"),
    AccountKind.LEARNER_WALLET,
)


def username_of(row: ParsedRow) -> str:
    return row.values.get("username") or row.values.get("external_id") or row.raw.get("external_id", "")


def midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class PeopleUpsert(Upsert):
    """People rows, plus the username rules and the user and account that go with each person."""

    declaration: PeopleKind

    def __init__(self, parsed: ParsedFile, *, declaration: PeopleKind):
        super().__init__(parsed, declaration=declaration)
        self.users_to_update: list[Any] = []
        self.user_update_fields: set[str] = set()
        self.updated_ids: set[str] = set()

    def prepare(self, rows: list[ParsedRow]) -> None:
        self.username_line: dict[str, int] = {}
        self.taken: dict[str, int] = {}
        user_model = get_user_model()
        for chunk in chunked(sorted({username_of(r) for r in rows})):
            self.taken.update(user_model.objects.filter(username__in=chunk).values_list("username", "pk"))

    def check_row(self, row: ParsedRow, stored: models.Model | None) -> None:
        username = username_of(row)
        if username in self.username_line:
            self.problem(
                row,
                "username",
                f"username used twice in the file (first on line {self.username_line[username]})",
            )
            return
        self.username_line[username] = row.line
        own_user_id = stored.user_id if stored else None
        if (
            username in self.taken
            and self.taken[username] != own_user_id
            and (stored is None or self.present("username"))
        ):
            self.problem(row, "username", "username already belongs to another user", value=username)

    def apply_changes(self, row: ParsedRow, stored: models.Model, values: dict[str, Any]) -> bool:
        person_changed = super().apply_changes(row, stored, values)
        user_values = {}
        if self.present("username"):
            user_values["username"] = username_of(row)
        if self.present("email"):
            user_values["email"] = row.values["email"]
        user_changed = self.changed_fields(stored.user, user_values)
        for name in user_changed:
            setattr(stored.user, name, user_values[name])
        if user_changed:
            self.users_to_update.append(stored.user)
            self.user_update_fields.update(user_changed)
        if person_changed or user_changed:
            self.updated_ids.add(stored.external_id)
        return bool(person_changed or user_changed)

    def create(self, new_rows: list[NewRow]) -> None:
        user_model = get_user_model()
        # One random unusable hash per user: they sign in only after a password reset.
        users = [
            user_model(
                username=username_of(n.row),
                email=n.row.values.get("email") or "",
                password=make_password(None),
            )
            for n in new_rows
        ]
        user_model.objects.bulk_create(users, batch_size=BATCH)
        model = self.declaration.model
        people = [model(user_id=u.pk, **n.values) for u, n in zip(users, new_rows, strict=True)]
        model.objects.bulk_create(people, batch_size=BATCH)
        Account.objects.bulk_create(
            [Account(kind=self.declaration.account_kind, owner_id=u.pk) for u in users], batch_size=BATCH
        )

    def write(self) -> None:
        super().write()
        if self.users_to_update:
            get_user_model().objects.bulk_update(
                self.users_to_update, sorted(self.user_update_fields), batch_size=BATCH
            )


@dataclass(frozen=True)
class Funding:
    external_id: str
    joined_on: date
    target_tokens: int
    top_up_tokens: int


class LearnerUpsert(PeopleUpsert):
    """Learners; ``tokens_funded`` above what the wallet already got tops it up by the difference."""

    def plan(self) -> None:
        super().plan()
        self.fundings: list[Funding] = []
        if not self.present("tokens_funded"):
            return
        funded = wallet_funding_by_user()
        for row in self.good_rows():
            target = row.values.get("tokens_funded")
            if target is None:
                continue
            person = self.stored.get((row.values["external_id"],))
            current = funded.get(person.user_id, 0) if person else 0
            if target > current:
                self.fundings.append(
                    Funding(row.values["external_id"], row.values["joined_on"], target, target - current)
                )
                if person is not None and person.external_id not in self.updated_ids:
                    self.result.unchanged -= 1
                    self.result.updated += 1

    def write(self) -> None:
        super().write()
        if not self.fundings:
            return
        user_of = {}
        for chunk in chunked([f.external_id for f in self.fundings]):
            user_of.update(
                Learner.objects.filter(external_id__in=chunk).values_list("external_id", "user_id")
            )
        wallets = ensure_accounts(kind=AccountKind.LEARNER_WALLET, user_ids=user_of.values())
        treasury = platform_account(AccountKind.PLATFORM_TREASURY).pk
        specs = [
            TransferSpec(
                kind=TransferKind.TOP_UP,
                # The target is in the key: raising it later tops up again, the same file never does.
                idempotency_key=f"csv-import-fund-{f.external_id}-{f.target_tokens}",
                legs=((treasury, -f.top_up_tokens), (wallets[user_of[f.external_id]], f.top_up_tokens)),
                memo=f"CSV import top-up: wallet of {f.external_id} funded to {f.target_tokens} tokens",
                created_at=midnight_utc(f.joined_on),
            )
            for f in self.fundings
        ]
        self.result.transfers += post_in_batches(specs)
