"""Generate a simulated marketplace with known ground truth (see tokenecon/simulator/MODEL.md)."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from tokenecon.simulator.config import SimulationConfig
from tokenecon.simulator.service import MarketplaceNotEmpty, run_simulation
from tokenecon.simulator.truth_queries import write_truth_files


class Command(BaseCommand):
    help = "Simulate learners, teachers, courses, prices, activity and enrollments through the ledger."

    def add_arguments(self, parser):
        defaults = SimulationConfig()
        parser.add_argument("--learners", type=int, default=defaults.learners)
        parser.add_argument("--teachers", type=int, default=defaults.teachers)
        parser.add_argument("--courses", type=int, default=defaults.courses)
        parser.add_argument(
            "--enrollments", type=int, default=defaults.enrollments, help="Target count (within 5%%)"
        )
        parser.add_argument("--days", type=int, default=defaults.days)
        parser.add_argument(
            "--end-date", type=date.fromisoformat, default=defaults.end_date, help="Last simulated day"
        )
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument("--scale", type=float, default=1.0, help="Multiplies the four sizes")
        parser.add_argument("--flush", action="store_true", help="Delete existing marketplace data first")
        parser.add_argument(
            "--truth-out",
            help="Folder for the truth CSV files (courses, demand, learners, learners at the cut-off)",
        )
        parser.add_argument("--truth-path", help="Where to save the truth file (default under ARTIFACTS_DIR)")
        parser.add_argument(
            "--truth-replications",
            type=int,
            default=defaults.truth_replications,
            help="Monte Carlo paths per learner for the learner probabilities",
        )
        parser.add_argument(
            "--truth-cutoff-days",
            type=int,
            default=defaults.truth_cutoff_days,
            help="Also compute the learner truth this many days before the end date (0: off)",
        )

    def handle(self, *args, **o):
        if o["scale"] <= 0:
            raise CommandError("--scale must be positive.")
        config = SimulationConfig(
            learners=o["learners"],
            teachers=o["teachers"],
            courses=o["courses"],
            enrollments=o["enrollments"],
            days=o["days"],
            end_date=o["end_date"],
            seed=o["seed"],
            truth_replications=o["truth_replications"],
            truth_cutoff_days=o["truth_cutoff_days"],
        ).scaled(o["scale"])
        verbose = o["verbosity"] > 0
        self.stdout.write(
            f"Simulating {config.learners} learners, {config.teachers} teachers, {config.courses} courses, "
            f"~{config.enrollments} enrollments over {config.days} days "
            f"({config.start_date} to {config.end_date}), seed {config.seed}"
        )
        bar = tqdm(total=config.days, unit="day", desc="simulating", disable=not verbose)
        try:
            result = run_simulation(
                config=config,
                flush=o["flush"],
                truth_path=o["truth_path"],
                progress=bar.update,
                log=self.stdout.write if verbose else None,
            )
        except MarketplaceNotEmpty as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        c, s = result.counts, result.seconds
        self.stdout.write(
            self.style.SUCCESS(
                f"Done in {s['total']:.1f} s: {c['learners']} learners, {c['teachers']} teachers, "
                f"{c['courses']} courses, {c['price_changes']} price changes, {c['enrollments']} enrollments "
                f"(target {config.enrollments}), {c['transfers']} transfers, {c['activity']} activity rows."
            )
        )
        self.stdout.write(
            "Time: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in s.items() if k != "total")
            + f". Truth saved to {result.truth_path}"
        )
        self.stdout.write("True elasticity at current prices (mean over the category's courses):")
        for category, value in sorted(
            result.category_elasticities.items(), key=lambda kv: kv[1], reverse=True
        ):
            self.stdout.write(f"  {category:<22} {value:6.2f}")
        if o["truth_out"]:
            files = write_truth_files(o["truth_out"], path=result.truth_path)
            self.stdout.write("Truth files: " + ", ".join(str(p) for p in files.values()))
