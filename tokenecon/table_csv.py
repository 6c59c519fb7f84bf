"""CSV downloads of the tables pages show: one header row (the page's column titles) and one row
per table row, as an attachment. Text that a spreadsheet would read as a formula gets a leading
quote (the statements' rule, ``tokenecon.services.statements.safe_text``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from django.http import HttpResponse

from tokenecon.services.statements import safe_text


def _cell(value) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    return safe_text(str(value))


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> HttpResponse:
    """``rows`` written under ``header`` as ``filename`` (UTF-8, CRLF line ends as csv writes them)."""
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    response = HttpResponse(stream.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
