"""Domain errors raised by services; the API and pages turn them into clear 4xx answers."""


class TokenEconomyError(Exception):
    """Base class: a business rule refused the request and nothing was written."""

    status_code = 400


class InsufficientTokens(TokenEconomyError):
    status_code = 402

    def __init__(self, *, account_label: str, needed_tokens: int, balance_tokens: int):
        self.needed_tokens = needed_tokens
        self.balance_tokens = balance_tokens
        super().__init__(
            f"Not enough tokens in {account_label}: {needed_tokens} needed, {balance_tokens} available."
        )


class AlreadyEnrolled(TokenEconomyError):
    status_code = 409


class IdempotencyConflict(TokenEconomyError):
    status_code = 409


class InvalidAmount(TokenEconomyError):
    pass


class NotRefundable(TokenEconomyError):
    status_code = 409


class LedgerImmutable(TokenEconomyError):
    """Raised when code tries to change or delete a ledger row."""

    status_code = 405


class TopUpLimitExceeded(TokenEconomyError):
    """A learner's top-up over the per-top-up or the 24-hour cap (there is no payment step yet)."""

    status_code = 400


class CouponRefused(TokenEconomyError):
    """An unknown, inactive, expired, used-up or out-of-scope coupon code."""

    status_code = 400


class PayoutRefused(TokenEconomyError):
    """A payout request above the available balance, below the minimum, or already decided."""

    status_code = 400


class RefundRefused(TokenEconomyError):
    """A learner's own refund after the window or past the progress threshold."""

    status_code = 400


class PaymentFailed(TokenEconomyError):
    """The payment provider declined or could not take the payment; nothing was credited."""

    status_code = 402


class WebhookRejected(TokenEconomyError):
    """A provider webhook with a bad signature or an unreadable body."""

    status_code = 400


class CouponInvalid(TokenEconomyError):
    """A coupon's fields break a rule (a bad code, percentage, window or scope); ``errors`` names
    each field with its message, for a form or an API 400."""

    status_code = 400

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__(" ".join(f"{name}: {message}" for name, message in errors.items()))
