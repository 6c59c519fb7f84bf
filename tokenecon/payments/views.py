"""Provider webhooks: public (no login, no CSRF token: the provider's signature is the proof),
POST only. A bad signature or body answers 400 and writes nothing; a verified event answers 200,
a replay too (it did its work the first time), and an event type the site does not act on is
recorded and ignored."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tokenecon.errors import WebhookRejected
from tokenecon.services.payments import handle_webhook


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    try:
        outcome = handle_webhook(
            provider="stripe", payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except WebhookRejected as exc:
        return JsonResponse({"error": str(exc)}, status=exc.status_code)
    return JsonResponse({"received": True, "replay": outcome.replay, "outcome": outcome.event.outcome})
