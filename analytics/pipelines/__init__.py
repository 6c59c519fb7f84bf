"""Every pipeline the platform can run; each registers itself when imported."""

from analytics.pipelines import demand, propensity  # noqa: F401
