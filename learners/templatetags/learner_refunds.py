"""``{% refund_eligibility enrollment as e %}``: whether the learner may refund it themself now,
and if not why (``tokenecon.services.refunds``), for the my-courses page."""

from django import template

from tokenecon.services.refunds import RefundEligibility, learner_refund_eligibility

register = template.Library()


@register.simple_tag
def refund_eligibility(enrollment) -> RefundEligibility:
    return learner_refund_eligibility(enrollment)
