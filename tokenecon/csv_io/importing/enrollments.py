"""Importing enrollments: the one kind that moves tokens, so a special case beside the upsert engine.

A new enrollment is a purchase through the ledger (``post_transfers_bulk`` with ``purchase_legs``,
topped up first by an import top-up where the wallet lacks tokens), and a refunded one also gets
its refund; every transfer's idempotency key derives from the enrollment id, so no token ever
moves twice. An enrollment already stored may change only its outcome (status, progress,
completion, rating): its price columns were paid and cannot change, and marking it refunded
posts the refund.

Teacher earnings: an imported purchase credits the teacher's *pending* earnings, as a live one
does. Imported history is mostly old, so in the same import every new enrollment whose refund
window (``TOKEN_REFUND_WINDOW_DAYS``) had passed at import time and that is not refunded is
released: a release transfer (key ``release:<enrollment id>``, dated at the end of its window)
moves the share to available and ``released_at`` is set. Recent ones stay pending until the
daily release. A refund in the file of an enrollment already released follows the staff rule
of ``services.refunds``: the teacher's share from their available balance as far as it goes,
the rest from the treasury.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from tokenecon.csv_io.importing.engine import BATCH, RowChecks, chunked
from tokenecon.csv_io.importing.ledger import (
    account_balances,
    ensure_accounts,
    legs_by_enrollment,
    post_in_batches,
    transfer_ids_by_key,
    transfers_of_enrollments,
)
from tokenecon.csv_io.schemas import ParsedRow
from tokenecon.models import (
    Account,
    AccountKind,
    Course,
    Enrollment,
    EnrollmentStatus,
    Learner,
    TransferKind,
)
from tokenecon.services.earnings import mark_released, refund_window, release_spec
from tokenecon.services.enrollment import purchase_legs
from tokenecon.services.ledger import TransferSpec, platform_account
from tokenecon.services.refunds import TEACHER_SHARE_KINDS, refund_legs


@dataclass
class NewEnrollment:
    row: ParsedRow
    enrollment: Enrollment
    wallet_user_id: int
    earnings_user_id: int
    memo: str


class EnrollmentImport(RowChecks):
    """Plan every enrollment row against the stored enrollments, then buy and refund through the ledger."""

    # Paid through the ledger, so fixed once imported: who bought which course when, and the price.
    purchase_fields = ("learner_id", "course_id", "enrolled_at")
    price_fields = ("list_price_tokens", "price_paid_tokens", "discount_pct")
    mutable = ("status", "progress_pct", "completed_at", "rating")

    def plan(self) -> None:
        self.check_unique(("enrollment_id",))
        learners = {
            ext: (pk, user_id)
            for ext, pk, user_id in Learner.objects.values_list("external_id", "pk", "user_id")
        }
        courses = {
            code: (pk, teacher_user_id, f"{code} {title}"[:255])
            for code, pk, teacher_user_id, title in Course.objects.values_list(
                "code", "pk", "teacher__user_id", "title"
            )
        }
        # Every row, bad ones too: a field error must not hide the row's other problems, so the
        # rules across columns and the foreign keys are checked on the values that did parse.
        resolved: dict[int, tuple] = {}
        for row in self.parsed.rows:
            self.check_row_rules(row)
            learner = self.lookup(row, "learner_id", learners, "learner (no learner with this external id)")
            course = self.lookup(row, "course_code", courses, "course (no course with this code)")
            if row.ok:
                resolved[row.line] = (learner, course)
        rows = self.good_rows()

        by_external: dict[str, Enrollment] = {}
        for chunk in chunked([r.values["enrollment_id"] for r in rows]):
            by_external.update((e.external_id, e) for e in Enrollment.objects.filter(external_id__in=chunk))
        # Enrollments bought in the app have no external id; an exported file names them
        # ``local-<pk>``. Any such row with the same learner, course and time is adopted.
        unnamed = {
            (e.learner_id, e.course_id, e.enrolled_at): e
            for e in Enrollment.objects.filter(external_id__isnull=True)
        }
        live_pairs = dict(
            ((learner_id, course_id), pk)
            for learner_id, course_id, pk in Enrollment.objects.exclude(
                status=EnrollmentStatus.REFUNDED
            ).values_list("learner_id", "course_id", "pk")
        )

        self.new: list[NewEnrollment] = []
        self.to_update: list[Enrollment] = []
        self.update_fields: set[str] = set()
        self.refunds_of_existing: list[tuple[ParsedRow, Enrollment]] = []
        matched: dict[int, Enrollment] = {}
        for row in rows:
            (learner_id, wallet_user_id), (course_id, earnings_user_id, memo) = resolved[row.line]
            values = self.enrollment_values(row, learner_id, course_id)
            existing = by_external.get(values["external_id"]) or unnamed.pop(
                (learner_id, course_id, values["enrolled_at"]), None
            )
            if existing is None:
                self.new.append(
                    NewEnrollment(row, Enrollment(**values), wallet_user_id, earnings_user_id, memo)
                )
                continue
            matched[row.line] = existing
            self.plan_existing(row, existing, values)
        self.check_refunds_of_existing()

        # One live enrollment per learner and course, over the database and the file together.
        for _row, enrollment in self.refunds_of_existing:
            live_pairs.pop((enrollment.learner_id, enrollment.course_id), None)
        first_line: dict[tuple[int, int], int] = {}
        for row in self.good_rows():
            if row.values.get("status") == EnrollmentStatus.REFUNDED:
                continue
            learner_id, course_id = resolved[row.line][0][0], resolved[row.line][1][0]
            pair = (learner_id, course_id)
            own = matched.get(row.line)
            if pair in first_line:
                self.problem(
                    row,
                    "course_code",
                    f"learner already enrolled in this course on line {first_line[pair]} "
                    "(only one enrollment that is not refunded is allowed)",
                )
            elif pair in live_pairs and (own is None or live_pairs[pair] != own.pk):
                self.problem(
                    row,
                    "course_code",
                    f"learner already has an enrollment in this course in the database (#{live_pairs[pair]})",
                )
            first_line.setdefault(pair, row.line)
        bad_lines = {p.line for p in self.problems}
        self.new = [n for n in self.new if n.row.line not in bad_lines]
        self.result.created = len(self.new)

    def check_row_rules(self, row: ParsedRow) -> None:
        """The rules across columns, each judged only when the columns it compares parsed (a
        column that did not parse is absent from ``row.values``; blank optional ones hold None)."""
        v = row.values
        parsed = v.keys().__contains__
        paid, listed, enrolled_at = (
            v.get("price_paid_tokens"),
            v.get("list_price_tokens"),
            v.get("enrolled_at"),
        )
        if paid is not None and listed is not None and paid > listed:
            self.problem(row, "price_paid_tokens", f"paid above the list price {listed}")
        completed_at = v.get("completed_at")
        if completed_at is not None and enrolled_at is not None and completed_at < enrolled_at:
            self.problem(row, "completed_at", "completion before enrollment")
        status = (
            v.get("status", EnrollmentStatus.ACTIVE)
            if parsed("status") or not self.present("status")
            else None
        )
        if status == EnrollmentStatus.COMPLETED:
            if completed_at is None and (parsed("completed_at") or not self.present("completed_at")):
                self.problem(row, "completed_at", "required for a completed enrollment")
            if parsed("progress_pct") or not self.present("progress_pct"):
                if v.get("progress_pct", 0) != 100:
                    self.problem(row, "progress_pct", "a completed enrollment has progress 100")
        refunded_at = v.get("refunded_at")
        if refunded_at is not None and status is not None:
            if status != EnrollmentStatus.REFUNDED:
                self.problem(row, "refunded_at", "only a refunded enrollment has a refund time")
            elif enrolled_at is not None and refunded_at < enrolled_at:
                self.problem(row, "refunded_at", "refund before enrollment")

    def enrollment_values(self, row: ParsedRow, learner_id: int, course_id: int) -> dict[str, Any]:
        v = row.values
        return {
            "external_id": v["enrollment_id"],
            "learner_id": learner_id,
            "course_id": course_id,
            "enrolled_at": v["enrolled_at"],
            "list_price_tokens": v["list_price_tokens"],
            "price_paid_tokens": v["price_paid_tokens"],
            "discount_pct": v.get("discount_pct", 0),
            "status": v.get("status", EnrollmentStatus.ACTIVE),
            "progress_pct": v.get("progress_pct", 0),
            "completed_at": v.get("completed_at"),
            "rating": v.get("rating"),
        }

    def plan_existing(self, row: ParsedRow, existing: Enrollment, values: dict[str, Any]) -> None:
        csv_column = {"learner_id": "learner_id", "course_id": "course_code"}
        for name in self.purchase_fields + self.price_fields:
            if name == "discount_pct" and not self.present(name):
                continue
            if getattr(existing, name) != values[name]:
                stored = getattr(existing, name)
                self.problem(
                    row,
                    csv_column.get(name, name),
                    f"cannot change an enrollment already paid through the ledger (stored: {stored})",
                )
        if not row.ok:
            return
        was_refunded = existing.status == EnrollmentStatus.REFUNDED
        now_refunded = values["status"] == EnrollmentStatus.REFUNDED
        if was_refunded and not now_refunded:
            self.problem(row, "status", "a refunded enrollment cannot be reinstated")
            return
        updates = {n: values[n] for n in self.mutable if self.present(n) or n == "status"}
        if existing.external_id is None:
            updates["external_id"] = values["external_id"]
        changed = self.changed_fields(existing, updates)
        if now_refunded and not was_refunded:
            self.refunds_of_existing.append((row, existing))
        if changed:
            for name in changed:
                setattr(existing, name, updates[name])
            self.to_update.append(existing)
            self.update_fields.update(changed)
            self.result.updated += 1
        else:
            self.result.unchanged += 1

    def check_refunds_of_existing(self) -> None:
        """A refund takes the teacher's share back: from pending (it must still be there) or,
        once released, from available as far as it goes and the rest from the treasury."""
        self.existing_purchases = {}
        self.refund_legs: dict[int, tuple[tuple[int, int], ...]] = {}
        if not self.refunds_of_existing:
            return
        ids = [e.pk for _, e in self.refunds_of_existing]
        self.existing_purchases = transfers_of_enrollments(ids, kind=TransferKind.PURCHASE)
        already_refunded = set(transfers_of_enrollments(ids, kind=TransferKind.REFUND))
        purchase_legs_of = legs_by_enrollment(list(self.existing_purchases.values()))
        kinds = {
            pk: kind
            for pk, (kind, _) in account_balances(
                sorted({a for legs in purchase_legs_of.values() for a, _ in legs})
            ).items()
        }
        teacher_accounts = [a for a, kind in kinds.items() if kind in TEACHER_SHARE_KINDS]
        owner_of = dict(Account.objects.filter(pk__in=teacher_accounts).values_list("pk", "owner_id"))
        available = ensure_accounts(kind=AccountKind.TEACHER_EARNINGS, user_ids=set(owner_of.values()))
        available_left = {
            pk: tokens for pk, (_, tokens) in account_balances(sorted(available.values())).items()
        }
        treasury = platform_account(AccountKind.PLATFORM_TREASURY).pk
        kinds[treasury] = AccountKind.PLATFORM_TREASURY
        needed: dict[int, int] = defaultdict(int)
        lines: dict[int, list[ParsedRow]] = defaultdict(list)
        for row, enrollment in self.refunds_of_existing:
            if enrollment.pk not in self.existing_purchases:
                self.problem(row, "status", "cannot refund: the enrollment has no purchase transfer")
                continue
            if enrollment.pk in already_refunded:
                continue
            purchase = purchase_legs_of[enrollment.pk]
            teacher = next((owner_of[a] for a, _ in purchase if a in owner_of), None)
            available_id = available.get(teacher)
            legs = refund_legs(
                purchase,
                kinds=kinds,
                released=enrollment.released_at is not None,
                available_id=available_id,
                available_tokens=available_left.get(available_id, 0),
                treasury_id=treasury,
            )
            for account_id, amount in legs:
                if account_id in available_left:
                    available_left[account_id] += amount
            self.refund_legs[enrollment.pk] = legs
            for account_id, amount in legs:
                if amount < 0:
                    needed[account_id] += -amount
                    lines[account_id].append(row)
        balances = account_balances(list(needed))
        for account_id, amount in needed.items():
            kind, balance = balances[account_id]
            if kind != AccountKind.PLATFORM_TREASURY and balance < amount:
                for row in lines[account_id]:
                    self.problem(
                        row,
                        "status",
                        f"cannot refund: {kind} account holds {balance} tokens, the refunds need {amount}",
                    )

    def write(self) -> None:
        if self.to_update:
            Enrollment.objects.bulk_update(self.to_update, sorted(self.update_fields), batch_size=BATCH)
        refund_specs = [
            TransferSpec(
                kind=TransferKind.REFUND,
                idempotency_key=f"csv-import-refund-{enrollment.external_id}",
                legs=self.refund_legs[enrollment.pk],
                memo=f"Refund of enrollment {enrollment.external_id} (CSV import)",
                created_at=row.values.get("refunded_at") or None,
                enrollment_id=enrollment.pk,
                reverses_id=self.existing_purchases[enrollment.pk].pk,
            )
            for row, enrollment in self.refunds_of_existing
            if enrollment.pk in self.refund_legs
        ]
        self.result.transfers += post_in_batches(refund_specs)
        if self.new:
            self.write_new()

    def write_new(self) -> None:
        Enrollment.objects.bulk_create([n.enrollment for n in self.new], batch_size=BATCH)
        wallets = ensure_accounts(
            kind=AccountKind.LEARNER_WALLET, user_ids={n.wallet_user_id for n in self.new}
        )
        earnings = ensure_accounts(
            kind=AccountKind.TEACHER_PENDING, user_ids={n.earnings_user_id for n in self.new}
        )
        revenue = platform_account(AccountKind.PLATFORM_REVENUE).pk
        treasury = platform_account(AccountKind.PLATFORM_TREASURY).pk
        balance = {pk: tokens for pk, (_, tokens) in account_balances(sorted(set(wallets.values()))).items()}

        # A refund must reverse a posted purchase (it needs its id), yet a wallet may re-spend
        # refunded tokens on a later purchase. So purchases go in rounds: a wallet moves to the
        # next round when it needs tokens from a refund still pending; each round's refunds are
        # posted before the next round. Order within each wallet stays chronological, and a
        # wallet funded as in the source system never needs an import top-up.
        self.purchase_legs_of_new: dict[int, tuple[tuple[int, int], ...]] = {}
        purchases_by_round: list[list[TransferSpec]] = [[]]
        refunds_by_round: list[list[tuple[NewEnrollment, tuple[tuple[int, int], ...]]]] = [[]]
        round_of_wallet: dict[int, int] = defaultdict(int)
        pending_by_wallet: dict[int, int] = defaultdict(int)
        for new in sorted(self.new, key=lambda n: (n.enrollment.enrolled_at, n.enrollment.external_id)):
            enrollment = new.enrollment
            wallet_id = wallets[new.wallet_user_id]
            paid = enrollment.price_paid_tokens
            if balance[wallet_id] < paid and pending_by_wallet[wallet_id]:
                round_of_wallet[wallet_id] += 1
                balance[wallet_id] += pending_by_wallet.pop(wallet_id)
            current = round_of_wallet[wallet_id]
            if current == len(purchases_by_round):
                purchases_by_round.append([])
                refunds_by_round.append([])
            specs = purchases_by_round[current]
            if balance[wallet_id] < paid:
                shortfall = paid - balance[wallet_id]
                specs.append(
                    TransferSpec(
                        kind=TransferKind.TOP_UP,
                        idempotency_key=f"csv-import-topup-{enrollment.external_id}",
                        legs=((treasury, -shortfall), (wallet_id, shortfall)),
                        memo=f"CSV import top-up to pay for enrollment {enrollment.external_id}",
                        created_at=enrollment.enrolled_at,
                    )
                )
                balance[wallet_id] += shortfall
            legs = purchase_legs(
                wallet_id=wallet_id,
                earnings_id=earnings[new.earnings_user_id],
                revenue_id=revenue,
                paid_tokens=paid,
            )
            self.purchase_legs_of_new[enrollment.pk] = legs
            specs.append(
                TransferSpec(
                    kind=TransferKind.PURCHASE,
                    idempotency_key=f"csv-import-purchase-{enrollment.external_id}",
                    legs=legs,
                    memo=new.memo,
                    created_at=enrollment.enrolled_at,
                    enrollment_id=enrollment.pk,
                )
            )
            balance[wallet_id] -= paid
            if enrollment.status == EnrollmentStatus.REFUNDED:
                refunds_by_round[current].append((new, legs))
                pending_by_wallet[wallet_id] += paid

        for purchases, refunds in zip(purchases_by_round, refunds_by_round, strict=True):
            self.result.transfers += post_in_batches(purchases)
            if refunds:
                self.post_refunds_of_new(refunds)
        self.release_old_new(earnings)

    def release_old_new(self, pending: dict[int, int]) -> None:
        """Release the new enrollments whose refund window was over at import time (docstring)."""
        cutoff = timezone.now() - refund_window()
        due = [
            n
            for n in self.new
            if n.enrollment.status != EnrollmentStatus.REFUNDED and n.enrollment.enrolled_at <= cutoff
        ]
        if not due:
            return
        available = ensure_accounts(
            kind=AccountKind.TEACHER_EARNINGS, user_ids={n.earnings_user_id for n in due}
        )
        specs, released = [], []
        for n in due:
            at = n.enrollment.enrolled_at + refund_window()
            released.append((n.enrollment.pk, at))
            teacher_tokens = next(
                (
                    amt
                    for a, amt in self.purchase_legs_of_new[n.enrollment.pk]
                    if a == pending[n.earnings_user_id]
                ),
                0,
            )
            if teacher_tokens > 0:
                specs.append(
                    release_spec(
                        enrollment_id=n.enrollment.pk,
                        pending_id=pending[n.earnings_user_id],
                        available_id=available[n.earnings_user_id],
                        tokens=teacher_tokens,
                        at=at,
                    )
                )
        self.result.transfers += post_in_batches(specs)
        mark_released(released)

    def post_refunds_of_new(self, refunds: list[tuple[NewEnrollment, tuple[tuple[int, int], ...]]]) -> None:
        keys = [f"csv-import-purchase-{n.enrollment.external_id}" for n, _ in refunds]
        purchase_ids = transfer_ids_by_key(keys)
        specs = [
            TransferSpec(
                kind=TransferKind.REFUND,
                idempotency_key=f"csv-import-refund-{n.enrollment.external_id}",
                legs=tuple((account_id, -amount) for account_id, amount in legs),
                memo=f"Refund of enrollment {n.enrollment.external_id} (CSV import)",
                created_at=n.row.values.get("refunded_at") or n.enrollment.enrolled_at,
                enrollment_id=n.enrollment.pk,
                reverses_id=purchase_ids[key],
            )
            for (n, legs), key in zip(refunds, keys, strict=True)
        ]
        self.result.transfers += post_in_batches(specs)
