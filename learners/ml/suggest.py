"""Course suggestions for learners (which courses to show them next, not price advice): a hybrid
of content similarity, co-enrollment (item-item), popularity and trend, with a short reason per
course, and offline evaluation on held-out enrollments. Pure: the state is built from DataFrames
(``learners.services.suggestions`` serves it to pages and the API; the offer policy uses it to
pick each learner's most likely course)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy import sparse

DEFAULT_WEIGHTS = {"content": 0.4, "collaborative": 0.3, "popularity": 0.2, "trend": 0.1}
LEVELS = {"beginner": 0, "intermediate": 1, "advanced": 2}


@dataclass
class SuggestionState:
    learner_ids: np.ndarray
    course_ids: np.ndarray
    categories: np.ndarray
    history: sparse.csr_matrix  # learners x courses, 1 where enrolled before the cut-off
    similarity: sparse.csr_matrix  # courses x courses, cosine of co-enrollment
    popularity: np.ndarray
    trend: np.ndarray
    category_share: np.ndarray  # learners x categories
    level: np.ndarray  # learner's usual level, -1 if none
    course_level: np.ndarray
    course_category_index: np.ndarray
    titles: np.ndarray


def build_state(
    *,
    learners: pd.DataFrame,
    courses: pd.DataFrame,
    enrollments: pd.DataFrame,
    cutoff: date,
    trend_days: int = 30,
) -> SuggestionState:
    t = pd.Timestamp(cutoff, tz="UTC")
    past = enrollments[enrollments["enrolled_at"] < t]
    learner_ids = learners["learner_id"].to_numpy()
    course_ids = courses["course_id"].to_numpy()
    l_index = pd.Index(learner_ids)
    c_index = pd.Index(course_ids)
    rows = l_index.get_indexer(past["learner_id"])
    cols = c_index.get_indexer(past["course_id"])
    keep = (rows >= 0) & (cols >= 0)
    history = sparse.csr_matrix(
        (np.ones(keep.sum(), dtype=np.float32), (rows[keep], cols[keep])), shape=(len(l_index), len(c_index))
    )
    history.data[:] = 1.0
    counts = np.asarray(history.sum(axis=0)).ravel()
    co = (history.T @ history).tocsr().astype(np.float32)
    co.setdiag(0)
    co.eliminate_zeros()
    norms = np.sqrt(np.maximum(counts, 1.0))
    similarity = sparse.diags(1 / norms) @ co @ sparse.diags(1 / norms)
    recent = past[past["enrolled_at"] >= t - timedelta(days=trend_days)]
    recent_counts = np.bincount(c_index.get_indexer(recent["course_id"]).clip(0), minlength=len(c_index))
    categories = np.array(sorted(courses["category"].astype(str).unique()))
    course_category_index = np.searchsorted(categories, courses["category"].astype(str).to_numpy())
    category_onehot = sparse.csr_matrix(
        (np.ones(len(c_index)), (np.arange(len(c_index)), course_category_index)),
        shape=(len(c_index), len(categories)),
    )
    per_category = (history @ category_onehot).toarray()
    totals = per_category.sum(axis=1, keepdims=True)
    category_share = np.divide(per_category, totals, out=np.zeros_like(per_category), where=totals > 0)
    course_level = courses["difficulty"].map(LEVELS).fillna(0).to_numpy()
    level_sum = history @ course_level
    level_n = np.asarray(history.sum(axis=1)).ravel()
    level = np.where(level_n > 0, np.round(level_sum / np.maximum(level_n, 1)), -1)
    return SuggestionState(
        learner_ids=learner_ids,
        course_ids=course_ids,
        categories=categories,
        history=history,
        similarity=similarity.tocsr(),
        popularity=_unit(np.log1p(counts)),
        trend=_unit(recent_counts / (counts + 5.0)),
        category_share=category_share,
        level=level,
        course_level=course_level,
        course_category_index=course_category_index,
        titles=courses.get("title", courses["course_id"].astype(str)).to_numpy(),
    )


def _unit(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    spread = values.max() - values.min() if len(values) else 0
    return (values - values.min()) / spread if spread > 0 else np.zeros_like(values)


def _row_unit(matrix: np.ndarray) -> np.ndarray:
    low = matrix.min(axis=1, keepdims=True)
    spread = matrix.max(axis=1, keepdims=True) - low
    return np.divide(matrix - low, spread, out=np.zeros_like(matrix), where=spread > 0)


def component_scores(state: SuggestionState, rows: np.ndarray) -> dict[str, np.ndarray]:
    share = state.category_share[rows][:, state.course_category_index]
    level_gap = np.abs(state.level[rows][:, None] - state.course_level[None, :])
    level_match = np.where(
        state.level[rows][:, None] < 0, 0.5, np.where(level_gap == 0, 1.0, 0.5 / level_gap.clip(1))
    )
    content = share * (0.5 + 0.5 * level_match)
    collaborative = np.asarray((state.history[rows] @ state.similarity).todense())
    n = len(rows)
    return {
        "content": _row_unit(content),
        "collaborative": _row_unit(collaborative),
        "popularity": np.broadcast_to(state.popularity, (n, len(state.course_ids))),
        "trend": np.broadcast_to(state.trend, (n, len(state.course_ids))),
    }


def suggest(
    state: SuggestionState, learner_rows: np.ndarray, *, k: int = 10, weights: dict[str, float] | None = None
) -> list[list[tuple[int, float, str]]]:
    """Top-k (course id, score, reason) per learner row, never a course already taken."""
    weights = weights or DEFAULT_WEIGHTS
    parts = component_scores(state, learner_rows)
    total = sum(weights[name] * parts[name] for name in weights)
    taken = state.history[learner_rows].toarray() > 0
    total = np.where(taken, -np.inf, total)
    top = np.argsort(-total, axis=1)[:, :k]
    results = []
    for i, row in enumerate(learner_rows):
        picks = []
        for c in top[i]:
            if not np.isfinite(total[i, c]):
                continue
            contributions = {name: weights[name] * parts[name][i, c] for name in weights}
            picks.append(
                (
                    int(state.course_ids[c]),
                    float(total[i, c]),
                    _reason(state, max(contributions, key=contributions.get), row, c),
                )
            )
        results.append(picks)
    return results


def _reason(state: SuggestionState, source: str, row: int, course: int) -> str:
    category = state.categories[state.course_category_index[course]].replace("_", " ")
    if source == "content":
        return f"Matches your interest in {category} and your level"
    if source == "collaborative":
        taken = state.history[row].indices
        sims = state.similarity[taken, course].toarray().ravel() if len(taken) else np.array([])
        if len(sims) and sims.max() > 0:
            return f"Learners who took {state.titles[taken[int(np.argmax(sims))]]} also took this"
        return "Often taken together with courses like yours"
    if source == "trend":
        return f"Trending in {category} this month"
    return f"Popular in {category}"


def evaluate(
    state: SuggestionState,
    held_out: pd.DataFrame,
    *,
    k: int = 10,
    weights: dict[str, float] | None = None,
    batch: int = 2000,
) -> dict:
    """precision@k, recall@k and catalog coverage on enrollments after the cut-off."""
    truth = held_out.groupby("learner_id")["course_id"].apply(set)
    index = pd.Index(state.learner_ids)
    rows = index.get_indexer(truth.index)
    rows = rows[rows >= 0]
    hits = precision = recall = 0.0
    shown: set[int] = set()
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        for row, picks in zip(chunk, suggest(state, chunk, k=k, weights=weights), strict=True):
            chosen = {c for c, _, _ in picks}
            shown |= chosen
            actual = truth[state.learner_ids[row]]
            hit = len(chosen & actual)
            hits += hit
            precision += hit / k
            recall += hit / len(actual)
    n = max(len(rows), 1)
    return {
        "precision_at_k": precision / n,
        "recall_at_k": recall / n,
        "coverage": len(shown) / len(state.course_ids),
        "learners": int(len(rows)),
        "k": k,
    }
