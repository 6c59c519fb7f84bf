"""The learner's wallet statement: every entry of their wallet with its running balance, as a
CSV download (``tokenecon.services.statements``). Learners only, and only their own wallet."""

from __future__ import annotations

import io

from django.http import HttpResponse
from django.views.decorators.http import require_GET

from tokenecon.permissions import role_required
from tokenecon.services.statements import write_wallet_statement_csv


@role_required("learner")
@require_GET
def wallet_statement_csv(request):
    learner = request.user.learner
    stream = io.StringIO()
    write_wallet_statement_csv(learner, stream)
    response = HttpResponse(stream.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="wallet-statement-{learner.external_id}.csv"'
    return response
