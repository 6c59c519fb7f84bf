"""What an elasticity says about demand: the one rule for calling demand elastic or inelastic.

Demand is elastic where a 1% price change moves enrollments by more than 1% (elasticity below
-1): there a lower price earns more revenue. The API answers with the capitalised word; sentences
use it in lower case.
"""

from __future__ import annotations

from typing import Literal

DemandType = Literal["Elastic", "Inelastic"]
DEMAND_TYPES: tuple[DemandType, ...] = ("Elastic", "Inelastic")


def demand_type(elasticity: float) -> DemandType:
    """``"Elastic"`` when ``elasticity`` (d ln Q / d ln P) is below -1, else ``"Inelastic"``."""
    return "Elastic" if elasticity < -1 else "Inelastic"
