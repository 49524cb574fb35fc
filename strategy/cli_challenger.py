"""``review … --challenger``: propose, approve, reject, veto and end champion/challenger experiments.

Arguments are added to the ``review`` parser by :func:`add_challenger_arguments`; ``review
propose|approve|reject|lift-veto|end-experiment PERSONA --challenger`` come here
(:func:`run_challenger`). Shares, duration and the minimum effect follow the house policy of
:mod:`strategy.experiments`.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from core.errors import UsageError, UserError
from core.text import terminal_safe
from strategy.auth import PermissionDenied, User
from strategy.experiments import DEFAULT_MIN_EFFECT, DEFAULT_PLANNED_DAYS

CHALLENGER_ACTIONS = ("propose", "approve", "reject", "lift-veto", "end-experiment")
CHALLENGER_HELP = """\
  propose PERSONA --challenger --share S [--holdout H] [--days D] [--min-effect E]
          [--strategy FILE.json]  propose a challenger beside the persona's champion (analyst):
                                  S of its accounts (0 < S <= 0.5) get the challenger, H (0-0.2)
                                  no collection contact; default challenger: the champion with
                                  another first channel, made compliant by the guardrails
  approve PERSONA --challenger --version N (or --hash H)
                                  a manager (not the proposer) approves the experiment shown;
                                  the minimum sample per arm is computed then
  reject PERSONA --challenger --reason R
                                  reject; by compliance a veto of every challenger of the persona
  lift-veto PERSONA --challenger --reason R
  end-experiment PERSONA --reason R
                                  a manager ends an approved experiment (all accounts champion)
"""


def add_challenger_arguments(review: argparse.ArgumentParser) -> None:
    """The ``--challenger`` options of ``review``."""
    review.add_argument("--challenger", action="store_true",
                        help="propose, approve, reject or lift the veto of the persona's "
                             "champion/challenger experiment instead of its strategy")
    review.add_argument("--share", type=float, default=None,
                        help="propose --challenger: share of the persona's accounts in the "
                             "challenger arm (0 < share <= 0.5)")
    review.add_argument("--holdout", type=float, default=0.0,
                        help="propose --challenger: share with no collection contact (0-0.2; "
                             "refused for over-indebted personas)")
    review.add_argument("--days", type=int, default=DEFAULT_PLANNED_DAYS,
                        help=f"propose --challenger: planned duration in days (default "
                             f"{DEFAULT_PLANNED_DAYS})")
    review.add_argument("--min-effect", type=float, default=DEFAULT_MIN_EFFECT, dest="min_effect",
                        help="propose --challenger: smallest pay-rate difference worth detecting "
                             f"(default {DEFAULT_MIN_EFFECT}: 5 points); sets the minimum sample")
    review.add_argument("--strategy", default=None, dest="strategy_file", metavar="FILE.json",
                        help="propose --challenger: the challenger strategy as a JSON document "
                             "(Strategy fields) instead of the built-in variant")


def check_challenger_args(args: argparse.Namespace) -> None:
    """What each ``--challenger`` action needs (UsageError otherwise)."""
    action = args.action
    if action == "end-experiment":
        args.challenger = True
    challenger_only = [flag for flag, given in (("--share", args.share is not None),
                                                ("--strategy", args.strategy_file is not None))
                       if given]
    if not args.challenger:
        if challenger_only:
            raise UsageError(f"{', '.join(challenger_only)} only go with --challenger")
        return
    if action not in CHALLENGER_ACTIONS:
        raise UsageError(f"review {action} has no --challenger form")
    if args.persona is None:
        raise UsageError(f"review {action} --challenger needs the persona (`review {action} ID "
                         "--challenger`)")
    if action == "propose" and args.share is None:
        raise UsageError("review propose --challenger needs --share S (e.g. 0.2: a fifth of the "
                         "persona's accounts get the challenger)")
    if action in ("reject", "lift-veto", "end-experiment") and not (args.reason or "").strip():
        raise UsageError(f"review {action} --challenger needs --reason TEXT")


def run_challenger(store: Any, run: Any, user: User, args: argparse.Namespace, portfolio: Any) -> int:
    """``review ACTION PERSONA --challenger``."""
    pid = args.persona
    if args.action == "propose":
        strategy = None
        if args.strategy_file:
            from strategy.experiments import challenger_from_file

            strategy = challenger_from_file(args.strategy_file)
        current = store.get_experiment(run, pid)
        experiment = store.propose_challenger(
            user, run, pid, strategy, challenger_share=args.share, holdout_share=args.holdout,
            planned_days=args.days, min_effect=args.min_effect,
            expected_version=current.version if current is not None else None, portfolio=portfolio)
        print(f"persona {pid}: challenger proposed by {user.username} as experiment "
              f"{experiment.experiment_id}: {terminal_safe(experiment.challenger.rationale)}")
        for line in experiment_lines(experiment.to_dict(), full=True):
            print(line)
        return 0
    if args.action == "approve":
        from strategy.cli import AUTOMATION_BIAS

        print(AUTOMATION_BIAS, file=sys.stderr)
        try:
            experiment = store.approve_challenger(user, run, pid, expected_version=args.version,
                                                  expected_hash=args.version_hash, portfolio=portfolio)
        except UserError as refused:
            if args.version is None and args.version_hash is None \
                    and not isinstance(refused, PermissionDenied):
                raise UsageError(str(refused), lines=[*refused.lines, (
                    f"review approve {pid} --challenger needs --version N (or --hash H) as "
                    f"`review show {pid}` prints them for the challenger")]) from None
            raise
        print(f"persona {pid}: experiment {experiment.experiment_id} (version {experiment.version - 1}) "
              f"approved by {user.username}; minimum sample {experiment.min_sample_per_arm} accounts "
              f"per arm (base pay rate {experiment.base_pay_rate:.1%}: {experiment.base_pay_rate_source})")
        return 0
    if args.action == "reject":
        experiment = store.reject_challenger(user, run, pid, args.reason,
                                             veto=False if args.no_veto else None)
        vetoed = " (compliance veto of every challenger of this persona)" if experiment.veto else ""
        print(f"persona {pid}: challenger of experiment {experiment.experiment_id} rejected by "
              f"{user.username}{vetoed}: {terminal_safe(experiment.reason)}")
        return 0
    if args.action == "lift-veto":
        store.lift_challenger_veto(user, run, pid, args.reason)
        print(f"persona {pid}: the compliance veto of its challengers is lifted by {user.username}")
        return 0
    experiment = store.end_experiment(user, run, pid, args.reason)
    print(f"persona {pid}: experiment {experiment.experiment_id} ended by {user.username}")
    return 0


def _percent(share: float | None) -> str:
    return "unknown" if share is None else f"{share:.0%}" if share * 100 == int(share * 100) \
        else f"{share:.1%}"


def experiment_lines(record: dict[str, Any] | None, *, full: bool) -> list[str]:
    """The text of one persona's experiment under its ``review list``/``show`` block."""
    if not record:
        return []
    ts = terminal_safe
    s = record.get("challenger_strategy") or {}
    sample = record["min_sample_per_arm"]
    head = (f"  challenger: experiment {record['experiment_id']} {record['state']} v{record['version']}"
            f"\thash {record['hash'] if full else (record['hash'] or '')[:16]}"
            f"\tchampion {_percent(record['champion_share'])} / challenger "
            f"{_percent(record['challenger_share'])} / holdout {_percent(record['holdout_share'])}"
            f"\t{record['planned_days']} days\tminimum sample per arm "
            + (f"{sample}" if sample is not None else "computed at approval")
            + f"\t{s.get('channel')} {s.get('tone')} {s.get('offer')} escalation={s.get('escalation')}"
            + f"\tproposed by {record['proposed_by']}"
            + (f"\tapproved by {record['approved_by']}" if record["approved_by"] else "")
            + (f"\treason: {ts(record['reason'])}" if record["reason"] else ""))
    lines = [head]
    if record.get("base_pay_rate") is not None:
        lines.append(f"    base pay rate {record['base_pay_rate']:.1%} "
                     f"({ts(record['base_pay_rate_source'] or '')}), minimum effect "
                     f"{record['min_detectable_effect']}")
    if record.get("started_run_id") and record["started_run_id"] != record["run_id"]:
        lines.append(f"    began in run {record['started_run_id']} (carried over; arms unchanged)")
    veto = record.get("veto")
    if veto and veto.get("active"):
        lines.append(f"    VETO of challengers by {veto['vetoed_by']}: {ts(veto['reason'])}")
    if full:
        lines += [f"    {'ok  ' if g['passed'] else 'FAIL'} {ts(g['message'])}"
                  for g in record.get("guardrails") or []]
        if record["state"] == "proposed":
            lines.append(f"    to approve exactly this: review approve {record['persona_id']} "
                         f"--challenger --version {record['version']}   (or --hash "
                         f"{(record['hash'] or '')[:16]})")
    return lines
