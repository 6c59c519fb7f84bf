"""Celery tasks for pricing: thin wrappers that take ids and call a service."""

from celery import shared_task

from pricing.services.recommendations import compute_recommendations


@shared_task(name="pricing.compute_price_recommendations", track_started=True)
def compute_price_recommendations(course_ids: list[int] | None = None) -> int:
    """Recompute and store price advice (all courses by default); safe to run twice, the newer
    advice supersedes the older."""
    return compute_recommendations(course_ids=course_ids)
