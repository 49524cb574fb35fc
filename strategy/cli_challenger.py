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

from core.errors import Message, UsageError, UserError
from core.formats import format_count, format_percent
from core.i18n import N_, _
from core.text import terminal_safe
from strategy.auth import PermissionDenied, User
from strategy.experiment_defaults import DEFAULT_MIN_EFFECT, DEFAULT_PLANNED_DAYS
from strategy.texts import render_stored

CHALLENGER_ACTIONS = ("propose", "approve", "reject", "lift-veto", "end-experiment")
CHALLENGER_HELP = N_("""\
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
""")


def add_challenger_arguments(review: argparse.ArgumentParser) -> None:
    """The ``--challenger`` options of ``review``."""
    review.add_argument("--challenger", action="store_true",
                        help=_("propose, approve, reject or lift the veto of the persona's "
                               "champion/challenger experiment instead of its strategy"))
    review.add_argument("--share", type=float, default=None,
                        help=_("propose --challenger: share of the persona's accounts in the "
                               "challenger arm (0 < share <= 0.5)"))
    review.add_argument("--holdout", type=float, default=0.0,
                        help=_("propose --challenger: share with no collection contact (0-0.2; "
                               "refused for over-indebted personas)"))
    review.add_argument("--days", type=int, default=DEFAULT_PLANNED_DAYS,
                        help=_("propose --challenger: planned duration in days (default {days})").format(
                            days=DEFAULT_PLANNED_DAYS))
    review.add_argument("--min-effect", type=float, default=DEFAULT_MIN_EFFECT, dest="min_effect",
                        help=_("propose --challenger: smallest pay-rate difference worth detecting "
                               "(default {effect}: 5 points); sets the minimum sample").format(
                            effect=DEFAULT_MIN_EFFECT))
    review.add_argument("--strategy", default=None, dest="strategy_file", metavar="FILE.json",
                        help=_("propose --challenger: the challenger strategy as a JSON document "
                               "(Strategy fields) instead of the built-in variant"))


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
            raise UsageError(Message(N_("{options} only go with --challenger"), options=", ".join(challenger_only)))
        return
    if action not in CHALLENGER_ACTIONS:
        raise UsageError(Message(N_("review {action} has no --challenger form"), action=action))
    if args.persona is None:
        raise UsageError(Message(N_("review {action} --challenger needs the persona (`review {action} ID "
                                    "--challenger`)"), action=action))
    if action == "propose" and args.share is None:
        raise UsageError(Message(N_("review propose --challenger needs --share S (e.g. 0.2: a fifth of the "
                                    "persona's accounts get the challenger)")))
    if action in ("reject", "lift-veto", "end-experiment") and not (args.reason or "").strip():
        raise UsageError(Message(N_("review {action} --challenger needs --reason TEXT"), action=action))


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
        print(_("persona {persona}: challenger proposed by {user} as experiment {experiment}: {rationale}").format(
            persona=pid, user=user.username, experiment=experiment.experiment_id,
            rationale=terminal_safe(experiment.challenger.rationale)))
        for line in experiment_lines(experiment.to_dict(), full=True):
            print(line)
        return 0
    if args.action == "approve":
        from strategy.cli import AUTOMATION_BIAS

        print(_(AUTOMATION_BIAS), file=sys.stderr)
        try:
            experiment = store.approve_challenger(user, run, pid, expected_version=args.version,
                                                  expected_hash=args.version_hash, portfolio=portfolio)
        except UserError as refused:
            if args.version is None and args.version_hash is None \
                    and not isinstance(refused, PermissionDenied):
                raise UsageError(refused.message, lines=[*refused._lines, Message(N_(
                    "review approve {persona} --challenger needs --version N (or --hash H) as "
                    "`review show {persona}` prints them for the challenger"), persona=str(pid))]) from None
            raise
        print(_("persona {persona}: experiment {experiment} (version {version}) approved by {user}; minimum sample "
                "{sample} accounts per arm (base pay rate {rate}: {source})").format(
            persona=pid, experiment=experiment.experiment_id, version=experiment.version - 1, user=user.username,
            sample=format_count(experiment.min_sample_per_arm), rate=format_percent(experiment.base_pay_rate),
            source=experiment.base_pay_rate_source))
        return 0
    if args.action == "reject":
        experiment = store.reject_challenger(user, run, pid, args.reason,
                                             veto=False if args.no_veto else None)
        if experiment.veto:
            text = _("persona {persona}: challenger of experiment {experiment} rejected by {user} (compliance veto "
                     "of every challenger of this persona): {reason}")
        else:
            text = _("persona {persona}: challenger of experiment {experiment} rejected by {user}: {reason}")
        print(text.format(persona=pid, experiment=experiment.experiment_id, user=user.username,
                          reason=terminal_safe(experiment.reason)))
        return 0
    if args.action == "lift-veto":
        store.lift_challenger_veto(user, run, pid, args.reason)
        print(_("persona {persona}: the compliance veto of its challengers is lifted by {user}").format(
            persona=pid, user=user.username))
        return 0
    experiment = store.end_experiment(user, run, pid, args.reason)
    print(_("persona {persona}: experiment {experiment} ended by {user}").format(
        persona=pid, experiment=experiment.experiment_id, user=user.username))
    return 0


def _percent(share: float | None) -> str:
    if share is None:
        return _("unknown")
    return format_percent(share, decimals=0 if share * 100 == int(share * 100) else 1)


def experiment_lines(record: dict[str, Any] | None, *, full: bool) -> list[str]:
    """The text of one persona's experiment under its ``review list``/``show`` block."""
    if not record:
        return []
    ts = terminal_safe
    s = record.get("challenger_strategy") or {}
    sample = record["min_sample_per_arm"]
    head = ("  " + _("challenger: experiment {experiment} {state} v{version}").format(
                experiment=record["experiment_id"], state=record["state"], version=record["version"])
            + f"\thash {record['hash'] if full else (record['hash'] or '')[:16]}\t"
            + _("champion {champion} / challenger {challenger} / holdout {holdout}").format(
                champion=_percent(record["champion_share"]), challenger=_percent(record["challenger_share"]),
                holdout=_percent(record["holdout_share"]))
            + "\t" + _("{days} days").format(days=record["planned_days"]) + "\t"
            + _("minimum sample per arm {sample}").format(
                sample=format_count(sample) if sample is not None else _("computed at approval"))
            + f"\t{s.get('channel')} {s.get('tone')} {s.get('offer')} escalation={s.get('escalation')}"
            + "\t" + _("proposed by {user}").format(user=record["proposed_by"])
            + ("\t" + _("approved by {user}").format(user=record["approved_by"]) if record["approved_by"] else "")
            + ("\t" + _("reason: {reason}").format(reason=ts(record["reason"])) if record["reason"] else ""))
    lines = [head]
    if record.get("base_pay_rate") is not None:
        lines.append("    " + _("base pay rate {rate} ({source}), minimum effect {effect}").format(
            rate=format_percent(record["base_pay_rate"]), source=ts(record["base_pay_rate_source"] or ""),
            effect=record["min_detectable_effect"]))
    if record.get("started_run_id") and record["started_run_id"] != record["run_id"]:
        lines.append("    " + _("began in run {run} (carried over; arms unchanged)").format(
            run=record["started_run_id"]))
    veto = record.get("veto")
    if veto and veto.get("active"):
        lines.append("    " + _("VETO of challengers by {user}: {reason}").format(user=veto["vetoed_by"],
                                                                              reason=ts(veto["reason"])))
    if full:
        lines += [f"    {'ok  ' if g['passed'] else 'FAIL'} {ts(render_stored(g['message'], g.get('text')))}"
                  for g in record.get("guardrails") or []]
        if record["state"] == "proposed":
            lines.append("    " + _("to approve exactly this: {command}   (or --hash {digest})").format(
                command=f"review approve {record['persona_id']} --challenger --version {record['version']}",
                digest=(record["hash"] or "")[:16]))
    return lines
