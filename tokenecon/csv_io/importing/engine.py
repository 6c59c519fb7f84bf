"""The upsert engine of the CSV import: one plan-then-write loop for every kind declared as data.

A kind declares its model, the fields that identify a stored row, the columns it copies and the
columns that name other rows (``ForeignKey``). ``Upsert`` then validates the rows the database
must judge (a key twice in the file, an unknown foreign key), matches each row to its stored row
by key, and plans: new keys are created, changed rows updated (only the fields that changed),
unchanged rows left alone, so importing the same file twice writes nothing. ``plan`` only reads;
``write`` applies the plan. Kinds with more to do (people, enrollments) extend the hooks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.apps import apps
from django.db import models

from tokenecon.csv_io.errors import CsvProblem
from tokenecon.csv_io.schemas import ParsedFile, ParsedRow

# SQLite allows 32k bound parameters; chunks keep IN lists and bulk statements well below that.
CHUNK = 900
BATCH = 2000


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


class RowChecks:
    """A parsed file, every problem found in it so far, and the checks that need other rows.

    Subclasses plan (read-only validation and diff) and write; a problem marks its row bad, so
    later checks skip it and nothing is written while any problem is listed.
    """

    def __init__(self, parsed: ParsedFile):
        self.parsed = parsed
        self.problems: list[CsvProblem] = list(parsed.problems)
        self.result = ImportResult(kind=parsed.schema.kind, rows=len(parsed.rows))
        self.duplicate_lines: set[int] = set()

    def problem(self, row: ParsedRow, column: str, reason: str, value: Any = None) -> None:
        text = row.raw.get(column, "") if value is None else str(value)
        self.problems.append(CsvProblem(row.line, column, text, reason))
        row.ok = False

    def good_rows(self) -> list[ParsedRow]:
        return [r for r in self.parsed.rows if r.ok]

    def present(self, column: str) -> bool:
        return self.parsed.has(column)

    def check_unique(self, key_columns: tuple[str, ...]) -> None:
        """Flag a key that repeats inside the file, naming the line where it first appeared."""
        first_line: dict[tuple, int] = {}
        for row in self.parsed.rows:
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
                self.duplicate_lines.add(row.line)
            else:
                first_line[key] = row.line

    def lookup(self, row: ParsedRow, column: str, mapping: dict, what: str) -> Any:
        """The value ``mapping`` gives the row's ``column`` (None when blank); unknown is a problem."""
        value = row.values.get(column)
        if value in (None, ""):
            return None
        if value not in mapping:
            self.problem(row, column, f"unknown {what}")
            return None
        return mapping[value]

    @staticmethod
    def changed_fields(obj: Any, values: dict[str, Any]) -> list[str]:
        return [name for name, value in values.items() if getattr(obj, name) != value]

    def plan(self) -> None:
        raise NotImplementedError

    def write(self) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class ForeignKey:
    """A CSV column naming another row by its natural key; the model stores that row's id."""

    column: str  # the CSV column
    field: str  # the model field holding the other row's primary key
    target: str  # the other model, as "app_label.Model"
    natural_key: str  # the other model's field the column holds
    what: str  # what an unknown value is called in the problem ("unknown <what>")

    def ids_by_key(self, rows: Iterable[ParsedRow]) -> dict[Any, int]:
        """Primary key of every row the file names, by natural key (names not found are absent)."""
        wanted = list(dict.fromkeys(r.values[self.column] for r in rows if r.values.get(self.column)))
        model = apps.get_model(self.target)
        found: dict[Any, int] = {}
        for chunk in chunked(wanted):
            found.update(
                model.objects.filter(**{f"{self.natural_key}__in": chunk}).values_list(self.natural_key, "pk")
            )
        return found


StoredRows = Callable[[list[tuple]], Iterable[models.Model]]


@dataclass(frozen=True)
class UpsertKind:
    """What the engine needs to import one kind.

    ``key``: the model fields that identify a stored row, each the CSV column of the same name or
    a foreign key's field. ``fields``: the CSV columns stored in the model field of the same name
    (default: every column of the kind's schema but its key and foreign-key columns); an optional
    column absent from the file takes its default on create and keeps the stored value on update.
    ``stored``: the stored rows that may match the file's keys (default: those whose
    first key field is among the file's, oldest first; the first stored row of a key is the match).
    """

    model: type[models.Model]
    key: tuple[str, ...]
    fields: tuple[str, ...] | None = None
    foreign_keys: tuple[ForeignKey, ...] = ()
    stored: StoredRows | None = None


@dataclass
class NewRow:
    """A row to create: the model's field values (key, stored and default columns)."""

    row: ParsedRow
    values: dict[str, Any]


class Upsert(RowChecks):
    """Import one declared kind: create new keys, update changed rows, leave unchanged rows alone."""

    def __init__(self, parsed: ParsedFile, *, declaration: UpsertKind):
        super().__init__(parsed)
        self.declaration = declaration
        self.stored: dict[tuple, models.Model] = {}
        self.to_create: list[NewRow] = []
        self.to_update: list[models.Model] = []
        self.update_fields: set[str] = set()

    # -- hooks ------------------------------------------------------------------------------------
    def prepare(self, rows: list[ParsedRow]) -> None:
        """Read what ``check_row`` needs about the file's rows; nothing by default."""

    def check_row(self, row: ParsedRow, stored: models.Model | None) -> None:
        """Rules of one row that need its stored row or other rows; none by default."""

    def apply_changes(self, row: ParsedRow, stored: models.Model, values: dict[str, Any]) -> bool:
        """Set the changed values on the stored row, plan its update; True when anything changed."""
        changed = self.changed_fields(stored, values)
        for name in changed:
            setattr(stored, name, values[name])
        if changed:
            self.to_update.append(stored)
            self.update_fields.update(changed)
        return bool(changed)

    def create(self, new_rows: list[NewRow]) -> None:
        self.declaration.model.objects.bulk_create(
            [self.declaration.model(**n.values) for n in new_rows], batch_size=BATCH
        )

    # -- the loop ---------------------------------------------------------------------------------
    def plan(self) -> None:
        kind = self.declaration
        self.check_unique(self.parsed.schema.key)
        # Every row, bad ones too: a field error must not hide the row's other problems, so each
        # foreign key and row rule is checked on the values that did parse.
        rows = self.parsed.rows
        ids_by_key = {fk.column: fk.ids_by_key(rows) for fk in kind.foreign_keys}
        resolved: list[tuple[ParsedRow, dict[str, Any]]] = []
        for row in rows:
            links = {
                fk.field: self.lookup(row, fk.column, ids_by_key[fk.column], fk.what)
                for fk in kind.foreign_keys
            }
            if self.key_parsed(row, links):
                resolved.append((row, links))
        self.prepare([row for row, _ in resolved])
        self.stored = self.stored_by_key([self.key_of(row, links) for row, links in resolved])
        for row, links in resolved:
            key = self.key_of(row, links)
            stored = self.stored.get(key)
            self.check_row(row, stored)
            if not row.ok:
                continue
            values = self.values_of(row, links)
            if stored is None:
                fields = {**dict(zip(kind.key, key, strict=True)), **self.defaults_for(values), **values}
                self.to_create.append(NewRow(row, fields))
            elif self.apply_changes(row, stored, values):
                self.result.updated += 1
            else:
                self.result.unchanged += 1
        self.result.created = len(self.to_create)

    def write(self) -> None:
        self.create(self.to_create)
        if self.to_update:
            self.declaration.model.objects.bulk_update(
                self.to_update, sorted(self.update_fields), batch_size=BATCH
            )

    # -- pieces of the loop -----------------------------------------------------------------------
    def copied_columns(self) -> tuple[str, ...]:
        kind = self.declaration
        if kind.fields is not None:
            return kind.fields
        schema = self.parsed.schema
        skipped = {*schema.key, *(fk.column for fk in kind.foreign_keys)}
        return tuple(name for name in schema.names if name not in skipped)

    def key_parsed(self, row: ParsedRow, links: dict[str, Any]) -> bool:
        """Whether every key field of the row has a value to match stored rows by (a foreign key
        that is blank may be part of a key; one that is unknown is not). The second row of a key
        that repeats in the file is not matched: its one problem is the repeat."""
        if row.line in self.duplicate_lines:
            return False
        column_of = {fk.field: fk.column for fk in self.declaration.foreign_keys}
        for name in self.declaration.key:
            column = column_of.get(name, name)
            if column not in row.values or (name in links and links[name] is None and row.values[column]):
                return False
        return True

    def key_of(self, row: ParsedRow, links: dict[str, Any]) -> tuple:
        return tuple(links[name] if name in links else row.values[name] for name in self.declaration.key)

    def values_of(self, row: ParsedRow, links: dict[str, Any]) -> dict[str, Any]:
        """The row's values of the columns present in the file, foreign keys as ids."""
        kind = self.declaration
        values = {name: row.values[name] for name in self.copied_columns() if self.present(name)}
        for fk in kind.foreign_keys:
            if fk.field not in kind.key and self.present(fk.column):
                values[fk.field] = links[fk.field]
        return values

    def defaults_for(self, values: dict[str, Any]) -> dict[str, Any]:
        """Defaults of the columns absent from the file, for a row to create."""
        kind = self.declaration
        column_of = {name: name for name in self.copied_columns()}
        column_of.update((fk.field, fk.column) for fk in kind.foreign_keys if fk.field not in kind.key)
        schema = self.parsed.schema
        return {
            name: schema.column(column).default for name, column in column_of.items() if name not in values
        }

    def stored_by_key(self, keys: list[tuple]) -> dict[tuple, models.Model]:
        kind = self.declaration
        if not keys:
            return {}
        if kind.stored is not None:
            candidates: Iterable[models.Model] = kind.stored(keys)
        else:
            candidates = self.stored_by_first_key_field(keys)
        found: dict[tuple, models.Model] = {}
        for obj in candidates:
            found.setdefault(tuple(getattr(obj, name) for name in kind.key), obj)
        return found

    def stored_by_first_key_field(self, keys: list[tuple]) -> Iterator[models.Model]:
        kind = self.declaration
        first = list(dict.fromkeys(k[0] for k in keys))
        for chunk in chunked(first):
            yield from kind.model.objects.filter(**{f"{kind.key[0]}__in": chunk}).order_by("pk")
