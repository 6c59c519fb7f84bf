from datetime import date

import numpy as np
import pandas as pd

from learners.ml.suggest import build_state, evaluate, suggest

CUTOFF = date(2026, 6, 1)


def world(seed: int = 0):
    """Two tastes: learners of each take courses of their own category; one category is more popular."""
    rng = np.random.default_rng(seed)
    courses = pd.DataFrame(
        {
            "course_id": np.arange(40),
            "category": ["music"] * 20 + ["design"] * 20,
            "difficulty": ["beginner", "intermediate"] * 20,
            "title": [f"Course {i}" for i in range(40)],
        }
    )
    learners = pd.DataFrame({"learner_id": np.arange(300)})
    rows = []
    for learner in range(300):
        taste = "music" if learner < 100 else "design"  # design is twice as popular overall
        pool = courses[courses["category"] == taste]["course_id"].to_numpy()
        picks = rng.choice(pool, size=5, replace=False)
        for i, course in enumerate(picks):
            when = pd.Timestamp(CUTOFF, tz="UTC") + pd.Timedelta(days=-40 + 10 * i)
            rows.append((learner, int(course), when))
    enrollments = pd.DataFrame(rows, columns=["learner_id", "course_id", "enrolled_at"])
    return learners, courses, enrollments


def test_hybrid_beats_popularity_on_recall_and_never_repeats_a_course():
    learners, courses, enrollments = world()
    state = build_state(learners=learners, courses=courses, enrollments=enrollments, cutoff=CUTOFF)
    held_out = enrollments[enrollments["enrolled_at"] >= pd.Timestamp(CUTOFF, tz="UTC")]
    hybrid = evaluate(state, held_out)
    popular = evaluate(
        state, held_out, weights={"content": 0, "collaborative": 0, "popularity": 1, "trend": 0}
    )
    assert hybrid["recall_at_k"] > popular["recall_at_k"]
    picks = suggest(state, np.array([0]), k=10)[0]
    taken = set(
        enrollments[
            (enrollments["learner_id"] == 0) & (enrollments["enrolled_at"] < pd.Timestamp(CUTOFF, tz="UTC"))
        ]["course_id"]
    )
    assert not taken & {c for c, _, _ in picks}
    assert all(reason for _, _, reason in picks)
