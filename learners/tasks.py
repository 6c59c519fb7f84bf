"""Celery tasks for learners: thin wrappers over the scoring and offer services."""

from celery import shared_task

from learners.services.offer_policy import make_offers
from learners.services.scoring import score_all_learners


@shared_task(name="learners.score_learners")
def score_learners() -> dict:
    """Score every learner with the production models, then refresh their offers (after each
    propensity training and nightly)."""
    return {"scores": score_all_learners(), "offers": make_offers()}
