"""CSV download of the ledger's transfers as the admin lists them: the changelist's filters,
search and date drill-down (the same query string), every page, the list's columns."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.http import HttpResponseBadRequest
from django.urls import path

from tokenecon.table_csv import csv_response

TRANSFER_HEADER = ["ID", "Kind", "Created at", "Tokens moved", "From → to", "Memo", "Enrollment", "Reverses"]


def transfers_csv_view(model_admin: admin.ModelAdmin):
    def transfers_csv(request):
        try:
            changelist = model_admin.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest("Unknown filter in the query string.", content_type="text/plain")
        transfers = changelist.get_queryset(request)
        return csv_response(
            "transfers.csv",
            TRANSFER_HEADER,
            (
                [
                    transfer.pk,
                    transfer.get_kind_display(),
                    f"{transfer.created_at:%Y-%m-%d %H:%M:%S}",
                    transfer.moved or 0,
                    model_admin.legs(transfer),
                    transfer.memo,
                    transfer.enrollment_id,
                    transfer.reverses_id,
                ]
                for transfer in transfers.iterator(chunk_size=500)
            ),
        )

    return model_admin.admin_site.admin_view(transfers_csv)


def transfer_csv_urls(model_admin: admin.ModelAdmin) -> list:
    return [path("export-csv/", transfers_csv_view(model_admin), name="tokenecon_transfer_csv")]
