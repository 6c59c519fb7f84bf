"""The data-quality result, stored: the page shows the latest stored run of the checks (with when
it ran and a "Re-run checks" button) instead of re-running every check on each visit.

A stored run carries the fingerprint of the data it checked: for each table the checks read, its
row count and highest id (the highest id alone for the large append-only ones: transfers,
entries, activity, enrollments), plus the day (checks on how recent the data is change with the date).
The page compares it with the fingerprint now (about ten cheap aggregate queries) and says when
the data changed since the checks ran; it never re-runs them on its own, except when nothing is
stored yet. Edits in place that add no row (an admin changing a field) leave the fingerprint as it
was: "Re-run checks" is there for those.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from analytics.data_quality import CheckResult, QualityReport, assess_data_quality
from analytics.models import DataQualitySnapshot
from tokenecon.models import (
    Account,
    Course,
    Enrollment,
    Entry,
    Learner,
    LearnerActivity,
    PriceChange,
    Teacher,
    Transfer,
)

# Stored runs kept; older ones are deleted when a new one is stored.
KEEP_SNAPSHOTS = 20


def _fingerprinted_models() -> list:
    return [
        get_user_model(),
        Teacher,
        Learner,
        Course,
        Enrollment,
        LearnerActivity,
        PriceChange,
        Account,
        Transfer,
        Entry,
    ]


# Append-only (the ledger) or never deleted, and large: their highest id says enough, and a
# COUNT(*) over them would cost about as much as the rest of the page (about 0.15 s at demo scale).
_HIGHEST_ID_ONLY = {
    "tokenecon.transfer",
    "tokenecon.entry",
    "tokenecon.learneractivity",
    "tokenecon.enrollment",
}


def data_fingerprint() -> str:
    parts: dict[str, object] = {"day": timezone.localdate().isoformat()}
    for model in _fingerprinted_models():
        label = model._meta.label_lower
        if label in _HIGHEST_ID_ONLY:
            parts[label] = model.objects.aggregate(top=Max("pk"))["top"]
        else:
            row = model.objects.aggregate(n=Count("pk"), top=Max("pk"))
            parts[label] = [row["n"], row["top"]]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def latest_snapshot() -> DataQualitySnapshot | None:
    return DataQualitySnapshot.objects.order_by("-checked_at", "-pk").first()


def run_and_store(*, user=None) -> DataQualitySnapshot:
    """Run every check now and store the result (the previous runs beyond ``KEEP_SNAPSHOTS`` go)."""
    fingerprint = data_fingerprint()
    report = assess_data_quality()
    with transaction.atomic():
        snapshot = DataQualitySnapshot.objects.create(
            checked_at=report.generated_at,
            fingerprint=fingerprint,
            elapsed_s=report.elapsed_s,
            score=report.score,
            report=json.loads(json.dumps(report.as_dict(), default=str)),
            requested_by=user if getattr(user, "is_authenticated", False) else None,
        )
        old = DataQualitySnapshot.objects.order_by("-checked_at", "-pk").values_list("pk", flat=True)[
            KEEP_SNAPSHOTS:
        ]
        DataQualitySnapshot.objects.filter(pk__in=list(old)).delete()
    return snapshot


def _fields(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls) if f.init}


def report_of(snapshot: DataQualitySnapshot) -> QualityReport:
    """The stored run as the QualityReport the template reads."""
    data = snapshot.report
    check_fields = _fields(CheckResult)
    checks = [CheckResult(**{k: v for k, v in c.items() if k in check_fields}) for c in data["checks"]]
    generated_at = data.get("generated_at")
    generated = parse_datetime(generated_at) if isinstance(generated_at, str) else snapshot.checked_at
    values = {
        "checks": checks,
        "distributions": data.get("distributions", {}),
        "generated_at": generated or snapshot.checked_at,
        "elapsed_s": data.get("elapsed_s", snapshot.elapsed_s),
    }
    return QualityReport(**{k: v for k, v in values.items() if k in _fields(QualityReport)})


@dataclasses.dataclass
class CachedQuality:
    report: QualityReport
    snapshot: DataQualitySnapshot
    # The data's fingerprint still matches the stored run's.
    current: bool
    # Checked on this request, because nothing was stored yet.
    ran_now: bool

    @property
    def checked_at(self) -> datetime:
        return self.snapshot.checked_at


def cached_quality() -> CachedQuality:
    """The latest stored run (the checks run now only when none is stored)."""
    snapshot = latest_snapshot()
    if snapshot is None:
        snapshot = run_and_store()
        return CachedQuality(report=report_of(snapshot), snapshot=snapshot, current=True, ran_now=True)
    return CachedQuality(
        report=report_of(snapshot),
        snapshot=snapshot,
        current=snapshot.fingerprint == data_fingerprint(),
        ran_now=False,
    )
