"""Celery tasks for pricing: thin wrappers that take ids and call a service."""

from celery import shared_task

from pricing.services.advice import ADVICE_TASK, run_advice_recompute


@shared_task(name=ADVICE_TASK)
def compute_price_recommendations(run_id: int | None = None) -> int:
    """Run advice run ``run_id`` (the nightly schedule passes none: a run for the whole catalog is
    created) and return how many recommendations it stored. Safe to run twice: a finished run is
    not run again, and newer advice supersedes older."""
    return run_advice_recompute(run_id=run_id).recommendations_stored
