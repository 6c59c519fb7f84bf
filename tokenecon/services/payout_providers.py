"""Where a bank transfer or Stripe Connect would stand: the payout provider an approval calls.

A provider gets the approved request and the reference staff typed (maybe empty) and answers the
reference under which the money left, or raises a ``TokenEconomyError`` (then nothing is paid:
the approval's transaction rolls back whole). ``settings.PAYOUT_PROVIDER`` names the one in use:

- ``manual`` (default): staff pay outside the platform (a bank transfer) and type its reference;
  with none typed, one is generated (``MANUAL-<request id>-<YYYYMMDD>``).
- ``test``: for tests and demos; always pays, answers ``TEST-<request id>`` (or the reference
  given), and declines a reference starting with ``DECLINE`` so the failure path can be tested.

The call runs inside the approval's transaction with the request row locked, so one request is
never sent twice; a real provider would also pass the request's id as its idempotency key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from tokenecon.errors import PayoutRefused

if TYPE_CHECKING:
    from tokenecon.models import PayoutRequest

MAX_REFERENCE = 128


@runtime_checkable
class PayoutProvider(Protocol):
    name: str

    def send(self, payout: PayoutRequest, *, reference: str = "") -> str:
        """Pay ``payout`` out; return the reference of the payment."""


def _clean(reference: str) -> str:
    reference = (reference or "").strip()
    if len(reference) > MAX_REFERENCE:
        raise PayoutRefused(
            f"A payout reference is at most {MAX_REFERENCE} characters; got {len(reference)}."
        )
    return reference


class ManualProvider:
    name = "manual"

    def send(self, payout: PayoutRequest, *, reference: str = "") -> str:
        return _clean(reference) or f"MANUAL-{payout.pk}-{timezone.now():%Y%m%d}"


class TestProvider:
    name = "test"
    __test__ = False  # not a pytest test class

    def send(self, payout: PayoutRequest, *, reference: str = "") -> str:
        reference = _clean(reference)
        if reference.upper().startswith("DECLINE"):
            raise PayoutRefused(f"The test payout provider declined payout {payout.pk} ({reference}).")
        return reference or f"TEST-{payout.pk}"


PROVIDERS: dict[str, type] = {"manual": ManualProvider, "test": TestProvider}


def payout_provider(name: str | None = None) -> PayoutProvider:
    name = name or settings.PAYOUT_PROVIDER
    try:
        return PROVIDERS[name]()
    except KeyError:
        raise ImproperlyConfigured(
            f"PAYOUT_PROVIDER is {name!r}; it must be one of {', '.join(sorted(PROVIDERS))}."
        ) from None
