"""Row-level problems found while validating a CSV file, and the error that carries all of them."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from tokenecon.errors import TokenEconomyError


@dataclass(frozen=True, order=True)
class CsvProblem:
    """One bad value: ``line`` counts as in the file (the header is line 1)."""

    line: int
    column: str
    value: str
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        column = f" column {self.column}" if self.column else ""
        value = f" value {self.value!r}" if self.value != "" else ""
        return f"line {self.line}{column}{value}: {self.reason}"


class CsvValidationError(TokenEconomyError):
    """The file has bad rows; nothing was written. ``problems`` lists every one of them."""

    status_code = 422
    shown_in_message = 20

    def __init__(self, problems: list[CsvProblem], *, kind: str = ""):
        self.problems = sorted(problems)
        self.kind = kind
        head = "\n".join(f"  {p}" for p in self.problems[: self.shown_in_message])
        more = len(self.problems) - self.shown_in_message
        tail = f"\n  ... and {more} more" if more > 0 else ""
        what = f"{kind} CSV" if kind else "CSV"
        super().__init__(f"{what}: {len(self.problems)} problem(s), nothing was imported:\n{head}{tail}")
