"""Assess data quality: completeness, validity, referential integrity, business rules, distributions."""

import json

from django.core.management.base import BaseCommand, CommandError

from analytics.data_quality import assess_data_quality


class Command(BaseCommand):
    help = "Run the data-quality checks; exits 1 when a critical check fails."

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print the full report as JSON"
        )

    def handle(self, *args, as_json: bool = False, **options):
        report = assess_data_quality()
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, default=str))
        else:
            self._print_table(report)
        if report.critical_failures:
            names = ", ".join(c.key for c in report.critical_failures)
            raise CommandError(f"Critical data-quality checks failed: {names}", returncode=1)

    def _print_table(self, report) -> None:
        for category, checks in report.by_category():
            self.stdout.write(self.style.MIGRATE_HEADING(category.capitalize()))
            for check in checks:
                mark = self.style.SUCCESS("pass") if check.passed else self.style.ERROR("FAIL")
                critical = "critical" if check.critical else ""
                self.stdout.write(
                    f"  {mark}  {check.title:<72} {check.failing:>8} / {check.checked:<8} {critical}"
                )
        dist = report.distributions
        price = dist["price_tokens"]
        per_course = dist["enrollments_per_course"]
        self.stdout.write(self.style.MIGRATE_HEADING("Distributions"))
        self.stdout.write(
            f"  price_tokens: {price['courses']} courses, min {price['min']}, "
            f"mean {price['mean']}, max {price['max']}"
        )
        self.stdout.write(
            f"  enrollments per course: min {per_course['min']}, mean {per_course['mean']}, "
            f"max {per_course['max']}, {per_course['courses_without_enrollments']} courses without any"
        )
        for row in dist["ratings_by_category"]:
            self.stdout.write(
                f"  rating {row['category']:<22} {row['mean']:.2f} over {row['ratings']} ratings"
            )
        self.stdout.write(
            f"Score {report.score}/100; {len(report.failures)} of {len(report.checks)} checks failed "
            f"({len(report.critical_failures)} critical), in {report.elapsed_s} s"
        )
