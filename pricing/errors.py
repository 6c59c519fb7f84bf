"""Domain errors of pricing; the API's exception handler answers each with its status code."""

from tokenecon.errors import TokenEconomyError


class PricingError(TokenEconomyError):
    """A price a course may not have (outside the platform bounds or under the teacher's floor)."""


class NotAdvisable(TokenEconomyError):
    """Advice that cannot be given or decided: no data on the course, or not pending any more."""

    status_code = 409
