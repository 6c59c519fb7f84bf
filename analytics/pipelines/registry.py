"""Every pipeline the platform can run, declared once: the dashboard's training buttons, the
``train`` command and the pipeline service all read this table. (The registry of trained model
versions is ``analytics.services.registry``.)"""

from __future__ import annotations

from analytics.pipelines.demand import DEMAND
from analytics.pipelines.propensity import PROPENSITY
from analytics.pipelines.spec import PipelineSpec
from tokenecon.errors import TokenEconomyError

PIPELINES: dict[str, PipelineSpec] = {spec.kind: spec for spec in (DEMAND, PROPENSITY)}
# Trained when a caller names no kind (the dashboard's form, ``manage.py train``).
DEFAULT_KIND = DEMAND.kind


class UnknownPipeline(TokenEconomyError):
    status_code = 400


def trainable_kinds() -> tuple[str, ...]:
    return tuple(PIPELINES)


def trainable_pipelines() -> list[PipelineSpec]:
    return list(PIPELINES.values())


def pipeline(kind: str) -> PipelineSpec:
    try:
        return PIPELINES[kind]
    except KeyError:
        raise UnknownPipeline(
            f"Unknown model family {kind!r}; expected one of {', '.join(trainable_kinds())}."
        ) from None
