"""Personalised offers: which discount, if any, each learner gets on the course they are most
likely to want, chosen to raise expected token revenue (``learners.ml.offers``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from learners import selectors
from learners.ml.offers import model_policy
from learners.ml.suggest import build_state, suggest
from learners.models import LearnerScore, Offer
from learners.services.model_source import course_elasticities
from learners.services.offers import expire_offers
from tokenecon.models import Course, Learner
from tokenecon.services.rates import discounted_price_tokens

DEFAULT_ELASTICITY = -1.0  # used for a course the demand model has not priced yet
OFFER_DAYS = 14
GONE = 0.95  # churn probability above which a learner is treated as gone: no offer


@dataclass(frozen=True)
class PersonalPrice:
    learner_id: int
    course_id: int
    base_price_tokens: int
    discount_pct: float
    personalized_price_tokens: int
    conversion_without_offer: float
    conversion_with_offer: float
    expected_incremental_tokens: float
    reason: str
    scores: dict


def purchase_shares(enrollments: pd.DataFrame, courses: pd.DataFrame, *, days: int = 90) -> pd.Series:
    """Each course's share of its category's recent enrollments (who buys in a category buys it)."""
    if enrollments.empty:
        return pd.Series(dtype=float)
    recent = enrollments[
        enrollments["enrolled_at"] >= enrollments["enrolled_at"].max() - timedelta(days=days)
    ]
    counts = recent.groupby("course_id").size().reindex(courses["course_id"]).fillna(0) + 0.5
    category = courses.set_index("course_id")["category"]
    return counts / counts.groupby(category).transform("sum")


def category_interest(enrollments: pd.DataFrame, learner_ids, category: str) -> pd.Series:
    """Share of each learner's past enrollments in a category (uniform 0.1 with no history)."""
    mine = enrollments[enrollments["learner_id"].isin(learner_ids)]
    counts = mine.groupby(["learner_id", "category"]).size().unstack(fill_value=0)
    share = counts.div(counts.sum(axis=1), axis=0)
    return share.get(category, pd.Series(dtype=float)).reindex(learner_ids).fillna(0.1)


def _reason(discount: float, p0: float, slope_elasticity: float) -> str:
    if discount == 0:
        if p0 > 0.3:
            return "Likely to buy at the full price: no discount needed."
        return "A discount would not pay for itself here: demand for this course responds little to price."
    return (
        f"{discount:.0%} off: at this learner's price sensitivity and a course elasticity of "
        f"{slope_elasticity:.2f}, the extra chance to buy outweighs the discount."
    )


def _p0(enroll_prob: np.ndarray, interest: np.ndarray, share: np.ndarray) -> np.ndarray:
    return np.clip(enroll_prob * interest * share, 1e-6, 0.99)


def personal_price(*, learner: Learner, course: Course) -> PersonalPrice:
    """The personalised price of one course for one learner (the API's ``personalized``)."""
    score = LearnerScore.objects.filter(learner=learner).first()
    enroll_prob = score.enroll_prob if score else 0.3
    sensitivity = score.price_sensitivity if score else 0.5
    enrollments = selectors.enrollment_frame(learner_ids=[learner.pk])
    courses = selectors.course_frame()
    recent = selectors.enrollment_frame(since=timezone.now() - timedelta(days=90))
    if recent.empty:  # a data set whose last enrollment is older than 90 days
        recent = selectors.enrollment_frame()
    share = purchase_shares(recent, courses).get(course.pk, 0.05)
    interest = category_interest(enrollments, [learner.pk], course.category).iloc[0]
    p0 = _p0(np.array([enroll_prob]), np.array([interest]), np.array([share]))
    elasticity = course_elasticities([course.pk]).get(course.pk, DEFAULT_ELASTICITY)
    owned = learner.enrollments.filter(course=course).exists()
    discount, gain, p1 = model_policy(
        p0=p0, elasticity=np.array([elasticity]), sensitivity_score=np.array([sensitivity]),
        price=np.array([course.price_tokens], float),
    )  # fmt: skip
    d = 0.0 if owned else float(discount[0])
    return PersonalPrice(
        learner_id=learner.pk,
        course_id=course.pk,
        base_price_tokens=course.price_tokens,
        discount_pct=round(d * 100, 2),
        personalized_price_tokens=discounted_price_tokens(
            list_price_tokens=course.price_tokens, discount_pct=Decimal(str(round(d * 100, 2)))
        ),
        conversion_without_offer=float(p0[0]),
        conversion_with_offer=float(p1[0]) if d else float(p0[0]),
        expected_incremental_tokens=float(gain[0]) if d else 0.0,
        reason="Already enrolled in this course." if owned else _reason(d, float(p0[0]), elasticity),
        scores={"enroll_prob": enroll_prob, "price_sensitivity": sensitivity, "elasticity": elasticity},
    )


def plan_offers(*, top_k: int = 1) -> pd.DataFrame:
    """For every scored learner who has not left: the course suggested first to them, the discount the
    policy picks for it, and the expected incremental tokens (rows with no discount included)."""
    scores = pd.DataFrame.from_records(
        LearnerScore.objects.filter(churn_prob__lt=GONE).values(
            "learner_id", "enroll_prob", "price_sensitivity"
        )
    )
    if scores.empty:
        return pd.DataFrame()
    learners = selectors.learner_frame()
    courses = selectors.course_frame(only_published=True)
    enrollments = selectors.enrollment_frame()
    state = build_state(
        learners=learners,
        courses=courses,
        enrollments=enrollments,
        cutoff=timezone.now().date() + timedelta(days=1),
    )
    rows = pd.Index(state.learner_ids).get_indexer(scores["learner_id"])
    picks = []
    for start in range(0, len(rows), 2000):
        chunk = rows[start : start + 2000]
        for row, suggested in zip(chunk, suggest(state, chunk, k=top_k), strict=True):
            for course_id, _, why in suggested:
                picks.append((int(state.learner_ids[row]), course_id, why))
    plan = pd.DataFrame(picks, columns=["learner_id", "course_id", "suggestion_reason"])
    plan = plan.merge(scores, on="learner_id").merge(
        courses[["course_id", "category", "price_tokens"]], on="course_id"
    )
    share = purchase_shares(enrollments, courses)
    plan["share"] = share.reindex(plan["course_id"]).to_numpy()
    counts = enrollments.groupby(["learner_id", "category"]).size()
    totals = enrollments.groupby("learner_id").size()
    pair = pd.MultiIndex.from_arrays([plan["learner_id"], plan["category"]])
    interest = counts.reindex(pair).fillna(0).to_numpy() / totals.reindex(plan["learner_id"]).to_numpy()
    plan["interest"] = np.where(np.isnan(interest), 0.1, interest)
    plan["p0"] = _p0(plan["enroll_prob"].to_numpy(), plan["interest"].to_numpy(), plan["share"].to_numpy())
    elasticities = course_elasticities()
    plan["elasticity"] = [elasticities.get(c, DEFAULT_ELASTICITY) for c in plan["course_id"]]
    discount, gain, p1 = model_policy(
        p0=plan["p0"].to_numpy(),
        elasticity=plan["elasticity"].to_numpy(),
        sensitivity_score=plan["price_sensitivity"].to_numpy(),
        price=plan["price_tokens"].to_numpy(float),
    )
    plan["discount"], plan["expected_incremental_tokens"], plan["p_with_offer"] = discount, gain, p1
    return plan


def make_offers(*, days: int = OFFER_DAYS) -> dict:
    """Write the policy's offers (discount above zero) for learners with no usable offer on that
    course; offers past their expiry are marked expired first."""
    now = timezone.now()
    expired = expire_offers()
    plan = plan_offers()
    if plan.empty:
        return {"offers": 0, "expired": expired, "considered": 0}
    plan = plan[plan["discount"] > 0]
    open_pairs = set(
        Offer.objects.filter(status=Offer.Status.SHOWN, course__isnull=False).values_list(
            "learner_id", "course_id"
        )
    )
    new = [
        Offer(
            learner_id=int(r.learner_id),
            course_id=int(r.course_id),
            discount_pct=Decimal(str(round(r.discount * 100, 2))),
            reason=_reason(r.discount, r.p0, r.elasticity)[:255],
            policy="model",
            scores={
                "enroll_prob": round(float(r.enroll_prob), 4),
                "price_sensitivity": round(float(r.price_sensitivity), 4),
                "p_without_offer": round(float(r.p0), 5),
                "p_with_offer": round(float(r.p_with_offer), 5),
                "elasticity": round(float(r.elasticity), 3),
            },
            expected_incremental_tokens=float(r.expected_incremental_tokens),
            expires_at=now + timedelta(days=days),
        )
        for r in plan.itertuples(index=False)
        if (r.learner_id, r.course_id) not in open_pairs
    ]
    with transaction.atomic():
        Offer.objects.bulk_create(new, batch_size=2000)
    return {
        "offers": len(new),
        "expired": expired,
        "considered": int(len(plan)),
        "expected_incremental_tokens": round(float(plan["expected_incremental_tokens"].sum()), 1),
    }
