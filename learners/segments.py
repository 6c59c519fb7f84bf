"""Segments on enrollment propensity, churn-risk levels, and the action each suggests."""

from __future__ import annotations

SEGMENTS = [  # (name, lower bound of enrollment propensity)
    ("Hot", 0.7),
    ("Warm", 0.5),
    ("Cold", 0.3),
    ("Dormant", 0.0),
]

SEGMENT_ACTIONS = {
    "Hot": {
        "discount": "none (they buy anyway)",
        "contact": "weekly",
        "channel": "in-app",
        "intervention": "recommend the next course; upsell to a pricier one",
    },
    "Warm": {
        "discount": "small, only if price sensitive",
        "contact": "weekly",
        "channel": "e-mail + in-app",
        "intervention": "personalised recommendations with reasons",
    },
    "Cold": {
        "discount": "targeted, where it raises expected revenue",
        "contact": "every two weeks",
        "channel": "e-mail",
        "intervention": "re-engagement: progress reminders, new courses in their interests",
    },
    "Dormant": {
        "discount": "none by default (rarely pays back)",
        "contact": "monthly",
        "channel": "e-mail",
        "intervention": "win-back campaign; survey why they left",
    },
}

CHURN_RISKS = [("high", 0.6), ("medium", 0.3), ("low", 0.0)]

CHURN_ACTIONS = {
    "high": "Personal outreach within a week; a completion reward for finishing the current course.",
    "medium": "Progress reminders and a recommended next lesson.",
    "low": "No special action.",
}


def segment_for(enroll_prob: float) -> str:
    return next(name for name, low in SEGMENTS if enroll_prob >= low)


def churn_risk_for(churn_prob: float) -> str:
    return next(name for name, low in CHURN_RISKS if churn_prob >= low)
