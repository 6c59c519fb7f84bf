"""CSV import for staff in the Django admin: upload a file, preview every problem or what would
change, then confirm. The view is thin: ``tokenecon.csv_io`` validates and writes.

The uploaded file waits between preview and confirmation in a private temporary folder under a
random token, so the confirmation imports exactly the file that was previewed (validated again
inside the import's transaction).
"""

from __future__ import annotations

import secrets
import tempfile
import time
from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.core.validators import RegexValidator
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from tokenecon.csv_io import IMPORT_KINDS, CsvValidationError, import_csv, preview_import

UPLOAD_DIR = Path(tempfile.gettempdir()) / "tokenecon-csv-imports"
UPLOAD_MAX_AGE_S = 24 * 3600
PROBLEMS_SHOWN = 500
KIND_CHOICES = [(kind, kind.replace("_", " ").capitalize()) for kind in IMPORT_KINDS]


class CsvUploadForm(forms.Form):
    kind = forms.ChoiceField(
        choices=KIND_CHOICES, help_text="Import in this order: " + ", ".join(IMPORT_KINDS)
    )
    file = forms.FileField(help_text="UTF-8 CSV with a header line; columns as in docs/csv.md")


class CsvConfirmForm(forms.Form):
    kind = forms.ChoiceField(choices=KIND_CHOICES, widget=forms.HiddenInput)
    token = forms.CharField(widget=forms.HiddenInput, validators=[RegexValidator(r"^[0-9a-f]{32}$")])


def _stored(token: str) -> Path:
    return UPLOAD_DIR / f"{token}.csv"


def _store_upload(content: bytes) -> str:
    UPLOAD_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Previews that were never confirmed would otherwise pile up.
    stale_before = time.time() - UPLOAD_MAX_AGE_S
    for old in UPLOAD_DIR.glob("*.csv"):
        if old.stat().st_mtime < stale_before:
            old.unlink(missing_ok=True)
    token = secrets.token_hex(16)
    _stored(token).write_bytes(content)
    return token


def csv_import_view(request):
    context = {**admin.site.each_context(request), "title": "Import CSV", "problems_shown": PROBLEMS_SHOWN}
    if request.method == "POST" and "confirm" in request.POST:
        confirm = CsvConfirmForm(request.POST)
        if not confirm.is_valid() or not _stored(confirm.cleaned_data["token"]).exists():
            messages.error(request, "That upload is no longer available; please upload the file again.")
            return redirect("admin:csv_import")
        kind, stored = confirm.cleaned_data["kind"], _stored(confirm.cleaned_data["token"])
        try:
            result = import_csv(kind=kind, source=stored.read_bytes())
        except CsvValidationError as exc:
            # The data changed since the preview; nothing was written.
            context |= {"form": CsvUploadForm(initial={"kind": kind}), "kind": kind, "problems": exc.problems}
            return TemplateResponse(request, "admin/csv_import.html", context)
        stored.unlink(missing_ok=True)
        messages.success(
            request,
            f"Imported {kind}: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged, {result.transfers} ledger transfers.",
        )
        return redirect("admin:csv_import")

    form = CsvUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        content = form.cleaned_data["file"].read()
        kind = form.cleaned_data["kind"]
        result = preview_import(kind=kind, source=content)
        context |= {"kind": kind, "result": result, "problems": result.problems}
        if result.ok and (result.created or result.updated):
            context["confirm_form"] = CsvConfirmForm(initial={"kind": kind, "token": _store_upload(content)})
    context["form"] = form
    return TemplateResponse(request, "admin/csv_import.html", context)


def _with_csv_import(get_urls):
    def urls():
        return [path("csv-import/", admin.site.admin_view(csv_import_view), name="csv_import"), *get_urls()]

    return urls


admin.site.get_urls = _with_csv_import(admin.site.get_urls)
