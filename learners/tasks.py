"""Celery tasks for learners: thin wrappers over the scoring and offer services.

``learners.score_learners`` splits the learners into id chunks and scores them as a chord: one
``learners.score_learner_chunk`` task per chunk (any worker takes any chunk), then
``learners.finish_scoring`` merges the chunk summaries and refreshes the offers once.
"""

from datetime import date

from celery import chord, shared_task

from learners.services.offer_policy import make_offers
from learners.services.scoring import (
    merge_chunk_summaries,
    plan_scoring,
    score_all_learners,
    score_learner_chunk,
)

CHUNK_SIZE = 5000  # learners per task: 1x data (10,000 learners) is two chunks


@shared_task(name="learners.score_learners")
def score_learners(chunk_size: int = CHUNK_SIZE) -> dict:
    """Score every learner with the production models, then refresh their offers (after each
    propensity training and nightly). One chunk is scored here; more go to the workers."""
    plan = plan_scoring(chunk_size=chunk_size)
    if len(plan.chunks) <= 1:
        return {"scores": score_all_learners(cutoff=plan.cutoff), "offers": make_offers()}
    cutoff = plan.cutoff.isoformat()
    result = chord(score_chunk.si(ids, cutoff) for ids in plan.chunks)(finish_scoring.s())
    return {"queued_chunks": len(plan.chunks), "as_of": cutoff, "result_id": result.id}


@shared_task(name="learners.score_learner_chunk")
def score_chunk(learner_ids: list[int], cutoff: str) -> dict:
    return score_learner_chunk(learner_ids=learner_ids, cutoff=date.fromisoformat(cutoff))


@shared_task(name="learners.finish_scoring")
def finish_scoring(summaries: list[dict]) -> dict:
    return {"scores": merge_chunk_summaries(summaries), "offers": make_offers()}
