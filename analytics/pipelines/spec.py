"""What a pipeline is: a named mapping from each stage of a run to a function ``stage(ctx) -> dict``,
and the context a stage works in.

What one stage hands to the next goes through ``ctx.save`` / ``ctx.load`` (joblib files in the
run's folder), so each stage can run as its own Celery task, on any worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import joblib

from analytics.models import PipelineRun
from analytics.services.run_progress import run_folder, update_stage
from tokenecon.errors import TokenEconomyError

StageFunction = Callable[["StageContext"], dict | None]


class NotEnoughData(TokenEconomyError):
    """The data cannot train this pipeline; the message says what is missing and the minimum.

    A stage raises it before fitting anything, and the run fails with the message alone (no
    traceback): it is the operator's to act on, not a bug."""

    status_code = 409


def require_enough(*, title: str, shortfalls: list[str]) -> None:
    """Raise ``NotEnoughData`` naming every shortfall at once (so one fix-up round is enough)."""
    if shortfalls:
        raise NotEnoughData(f"Not enough data to train the {title}: " + "; ".join(shortfalls) + ".")


@dataclass(frozen=True)
class PipelineSpec:
    kind: str
    # What the dashboard's button trains: "Train <title>".
    title: str
    stages: dict[str, StageFunction]
    fingerprint: Callable[[dict], str] = field(default=lambda params: "")
    # The parameters the pipeline takes, with their values when a caller gives none.
    defaults: dict[str, Any] = field(default_factory=dict)
    # A Celery task (by name) queued after the last stage of a successful queued run.
    then: str | None = None

    def __post_init__(self) -> None:
        missing = set(PipelineRun.STAGES) - set(self.stages)
        if missing:
            raise ValueError(f"Pipeline {self.kind} lacks stages {sorted(missing)}")


def stages_by_name(*functions: StageFunction) -> dict[str, StageFunction]:
    """A pipeline's stages from its functions named ``stage_<stage>`` (``stage_data``...)."""
    stages = {function.__name__.removeprefix("stage_"): function for function in functions}
    unknown = set(stages) - set(PipelineRun.STAGES)
    if unknown:
        raise ValueError(f"Not stages of a run: {sorted(unknown)}; a run has {list(PipelineRun.STAGES)}")
    return stages


class StageContext:
    def __init__(self, run: PipelineRun, stage: str):
        self.run = run
        self.stage = stage
        self.params = run.params
        self.folder = run_folder(run.pk)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._last_beat = 0.0

    def save(self, name: str, obj: Any) -> None:
        tmp = self.folder / f"{name}.joblib.tmp"
        joblib.dump(obj, tmp)
        tmp.replace(self.folder / f"{name}.joblib")

    def load(self, name: str) -> Any:
        return joblib.load(self.folder / f"{name}.joblib")

    def progress(self, fraction: float, message: str = "") -> None:
        """Report progress inside the stage; written at most twice a second."""
        now = time.monotonic()
        if now - self._last_beat < 0.5 and fraction < 1:
            return
        self._last_beat = now
        update_stage(
            run_id=self.run.pk, stage=self.stage, progress=max(0.0, min(1.0, fraction)), message=message
        )
