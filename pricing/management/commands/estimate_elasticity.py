"""Estimate a price elasticity from any CSV panel of prices and quantities."""

import json

import pandas as pd
from django.core.management.base import BaseCommand, CommandError

from pricing.ml.elasticity import demand_type
from pricing.ml.panel_regression import PanelSpecError, estimate_elasticity


class Command(BaseCommand):
    help = (
        "Fit log Q on log P with controls and fixed effects on any panel and print the elasticity "
        "with its standard error, 95% interval and fit statistics."
    )

    def add_arguments(self, parser):
        parser.add_argument("--csv", required=True, help="Path to the CSV file")
        parser.add_argument(
            "--unit", required=True, help="Column identifying the unit (course, product, ...)"
        )
        parser.add_argument(
            "--period", required=True, help="Column identifying the period (week, month, ...)"
        )
        parser.add_argument("--price", required=True)
        parser.add_argument("--quantity", required=True)
        parser.add_argument("--controls", default="", help="Comma-separated control columns")
        parser.add_argument("--fixed-effects", default="unit,period", help="unit, period, both, or 'none'")
        parser.add_argument(
            "--model",
            default="linear",
            choices=["linear", "poisson"],
            help="linear: OLS of log Q on log P (rows with Q = 0 dropped); poisson: PPML, keeps zeros",
        )
        parser.add_argument(
            "--cov",
            default="classical",
            choices=["classical", "cluster"],
            help="Standard errors: classical, or clustered by unit (linear model)",
        )
        parser.add_argument("--json", action="store_true", help="Print the result as JSON")

    def handle(self, *args, **options):
        try:
            frame = pd.read_csv(options["csv"])
        except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {options['csv']}: {exc}") from exc
        effects = [] if options["fixed_effects"] in ("", "none") else options["fixed_effects"].split(",")
        try:
            result = estimate_elasticity(
                frame,
                unit=options["unit"],
                period=options["period"],
                price=options["price"],
                quantity=options["quantity"],
                controls=[c for c in options["controls"].split(",") if c],
                fixed_effects=[e.strip() for e in effects],
                model=options["model"],
                covariance=options["cov"],
            )
        except PanelSpecError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.__dict__, indent=2))
            return
        self.stdout.write(f"Model: {result.model}, fixed effects: {', '.join(effects) or 'none'}")
        self.stdout.write(f"Elasticity (d ln Q / d ln P): {result.elasticity:.4f}")
        self.stdout.write(f"Standard error ({result.covariance}): {result.std_error:.4f}")
        self.stdout.write(f"95% interval: [{result.ci_low:.4f}, {result.ci_high:.4f}]")
        self.stdout.write(
            f"Observations: {result.n_obs} used, {result.n_dropped} dropped; residual df {result.df_resid}"
        )
        if result.r2 is not None:
            self.stdout.write(
                f"R²: {result.r2:.4f}"
                + (f", within R²: {result.r2_within:.4f}" if result.r2_within is not None else "")
            )
        kind = demand_type(result.elasticity).lower() if result.elasticity < 0 else "not downward sloping"
        self.stdout.write(f"Demand is {kind} at this estimate.")
