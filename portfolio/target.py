"""Check the outcome column a user chose for the risk model, before anything slow runs.

An outcome column must hold exactly two values in every usable row. ``0``/``1`` and yes/no columns
are read as "1 (yes) = the event named by ``event``" (``"paid"`` or ``"default"``, i.e. not paid);
the reader already turns yes/no words (J/N, ja/nein, yes/no, true/false: :mod:`portfolio.flags`)
into booleans, so such a column answers its own name ("bezahlt: ja"). Any other pair (``1``/``2``,
``paid``/``unpaid``, ``good``/``bad``, and ja/nein in a frame given directly as text) is ambiguous:
the user names the value that means ``event`` (``--target-event-value 2``; on the Portfolio page a
choice), and the other value means the opposite. Nothing is guessed.

:func:`check_target` raises :class:`core.errors.PortfolioError` naming the file, the column, its
values and the option to set; the CLI (``validate``, ``run``) and the pipeline call it before
persona discovery, so a bad outcome column stops a run within seconds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.errors import Joined, Message, PortfolioError
from core.i18n import N_
from portfolio.constants import EVENTS
from portfolio.flags import FALSE_TOKENS, TRUE_TOKENS
from portfolio.numbers import MISSING_TOKENS
from portfolio.report import ROW_CONVENTION, rows_text

#: The risk model cross-validates with up to 5 folds: each outcome needs at least this many accounts.
MIN_PER_OUTCOME = 5
_YES_WORDS = ("1", "yes", "y", "ja", "j", "true", "paid", "bezahlt", "good", "gut")
EVENT_WORDS = {"paid": N_("the account was paid"), "default": N_("the account was NOT paid")}


def value_key(value: Any) -> str:
    """A cell as a comparable key: ``2``, ``2.0`` and ``"2"`` are ``"2"``; text is stripped and lower case."""
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    text = str(value).strip()
    try:
        number = float(text.replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return text.casefold()
    if np.isfinite(number) and float(number).is_integer():
        return str(int(number))
    return f"{number:g}" if np.isfinite(number) else text.casefold()


@dataclass(frozen=True)
class TargetValues:
    """What an outcome column holds: its values (as first written in the file) and their counts."""

    column: str
    counts: dict[str, int]  #: key (see :func:`value_key`) -> rows
    shown: dict[str, str]  #: key -> the value as first written in the file
    empty_positions: np.ndarray  #: 0-based positions of empty cells

    @property
    def zero_one(self) -> bool:
        """True when the two values are 0 and 1 (or booleans): read as 1 = the event."""
        return set(self.counts) == {"0", "1"}

    def listing(self, limit: int = 5) -> Message:
        """``'1' (700 rows) and '2' (300 rows)`` for a message (``str()`` renders it)."""
        items = sorted(self.counts.items(), key=lambda kv: -kv[1])
        parts = [Message(N_("'{value}' ({n} rows)"), value=self.shown[k], n=n) for k, n in items[:limit]]
        if len(items) > limit:
            return Message(N_("{items} and {n} more"), items=Joined(", ", parts), n=len(items) - limit)
        if len(parts) == 1:
            return Message("{items}", items=parts[0])
        return Message(N_("{items} and {last}"), items=Joined(", ", parts[:-1]), last=parts[-1])


@dataclass(frozen=True)
class TargetCoding:
    """A checked outcome column and which of its values means the event.

    ``encode`` turns the column into 0/1 with 1 = ``event`` ("paid" or "default"), the coding the
    risk model and the persona profiles read.
    """

    column: str
    event: str
    event_value: str  #: key of the value that means ``event``
    values: TargetValues

    @property
    def other_value(self) -> str:
        return next(k for k in self.values.counts if k != self.event_value)

    def encode(self, column: pd.Series) -> pd.Series:
        """0/1 (int8) with 1 where the cell is the event value; same index as ``column``."""
        return (value_keys(column) == self.event_value).astype("int8")

    def describe(self) -> Message:
        """``'bezahlt_90_tage': '1' = the account was paid (4,000 rows), '0' = the opposite (1,000 rows)``
        (English as a string; ``.render()`` in the reader's language)."""
        v = self.values
        event, other = self.event_value, self.other_value
        return Message(N_("outcome '{column}': '{event}' = {meaning} ({n} rows), '{other}' = the opposite "
                          "({m} rows)"), column=self.column, event=v.shown[event],
                       meaning=Message(EVENT_WORDS[self.event]), n=int(v.counts[event]), other=v.shown[other],
                       m=int(v.counts[other]))

    def to_dict(self) -> dict[str, Any]:
        v = self.values
        return {"column": self.column, "event": self.event, "event_value": v.shown[self.event_value],
                "other_value": v.shown[self.other_value],
                "values": {v.shown[k]: n for k, n in v.counts.items()},
                "coding": "0/1" if v.zero_one and self.event_value == "1" else "event value named"}


def value_keys(values: pd.Series) -> pd.Series:
    """:func:`value_key` of every cell (``None`` where empty), computed once per distinct value."""
    codes, uniques = pd.factorize(values.astype("object"), use_na_sentinel=True)
    keys = [value_key(u) for u in uniques]
    keys = [None if k.casefold() in MISSING_TOKENS else k for k in keys] + [None]
    return pd.Series(np.asarray(keys, dtype=object)[codes], index=values.index, dtype=object)


def target_values(frame: pd.DataFrame, column: str) -> TargetValues:
    """The distinct values of ``column`` in ``frame`` with their counts, and its empty cells."""
    values = frame[column]
    keys = value_keys(values)
    empty = keys.isna().to_numpy()
    counts = keys[~empty].value_counts(sort=True)
    shown: dict[str, str] = {}
    for key, original in zip(keys[~empty].tolist(), values[~empty].tolist()):
        if key not in shown:
            shown[key] = (original.strip() if isinstance(original, str)
                          else str(bool(original)).lower() if isinstance(original, (bool, np.bool_)) else key)
            if len(shown) == len(counts):
                break
    return TargetValues(column=str(column), counts={str(k): int(n) for k, n in counts.items()},
                        shown=shown, empty_positions=np.flatnonzero(empty))


def check_target(frame: pd.DataFrame, column: str, *, event: str = "paid", event_value: Any = None,
                 row_numbers=None, source_name: str = "the portfolio",
                 min_per_outcome: int = MIN_PER_OUTCOME) -> TargetCoding:
    """Check an outcome column and decide which of its values means ``event``.

    Parameters
    ----------
    frame
        The usable rows (``Portfolio.frame``).
    column
        The outcome column chosen by the user (``--target``).
    event : {"paid", "default"}
        What the event value means: the account was paid, or it was not paid (default).
    event_value
        The value of ``column`` that means ``event`` (``--target-event-value``). Needed unless the
        column holds 0 and 1 (then 1 means ``event``).
    row_numbers
        File row number of each row of ``frame`` (for messages); default: position + 2.
    source_name
        File name for messages.
    min_per_outcome
        Fewest accounts each of the two outcomes needs (cross-validation folds).

    Raises
    ------
    PortfolioError
        When the column is missing, has empty cells, does not hold exactly two values, is not 0/1
        and no ``event_value`` is given, ``event_value`` is not one of its values, or one outcome
        has fewer than ``min_per_outcome`` accounts.
    """
    if event not in EVENTS:
        raise PortfolioError(Message(N_("--target-event must be 'paid' or 'default', not {event}."),
                                     event=repr(event)))
    if column not in frame.columns:
        raise PortfolioError(Message(N_("{file}: the outcome column '{column}' (--target) is not a column of the "
                                        "portfolio; columns are: {columns}."), file=source_name, column=column,
                                     columns=", ".join(map(str, frame.columns[:30]))))
    values = target_values(frame, column)
    where = Message(N_("{file}: the outcome column '{column}'"), file=source_name, column=column)
    numbers = None if row_numbers is None else np.asarray(row_numbers)
    empty = values.empty_positions
    if len(empty):
        raise PortfolioError(Message(N_(
            "{where} is empty in {n} rows ({rows}) [{convention}]; the risk model needs the outcome of every "
            "account: fill them, remove those rows, or run without --target (personas only)."), where=where,
            n=len(empty), rows=rows_text(empty, numbers=numbers), convention=ROW_CONVENTION))
    if len(values.counts) != 2:
        kind = Message(N_("one value")) if len(values.counts) == 1 else \
            Message(N_("{n} different values"), n=len(values.counts))
        raise PortfolioError(Message(N_(
            "{where} has {kind} ({values}); an outcome column holds exactly two, e.g. 0/1 (paid or not). Choose "
            "another column with --target, or run without --target."), where=where, kind=kind,
            values=values.listing()))
    chosen = _event_key(values, event, event_value, where)
    small = {k: n for k, n in values.counts.items() if n < min_per_outcome}
    if small:
        raise PortfolioError(Message(N_(
            "{where} has too few accounts of one outcome ({values}); the risk model cross-validates and needs "
            "at least {n} of each."), where=where, values=values.listing(), n=min_per_outcome))
    return TargetCoding(column=str(column), event=event, event_value=chosen, values=values)


def _event_key(values: TargetValues, event: str, event_value: Any, where: Message) -> str:
    keys = sorted(values.counts)
    if event_value is not None and str(event_value).strip() != "":
        key = value_key(event_value)
        if key not in values.counts and values.zero_one:  # "ja", "yes", "true" name the 1 of a yes/no column
            token = str(event_value).strip().lower()
            key = "1" if token in TRUE_TOKENS else "0" if token in FALSE_TOKENS else key
        if key not in values.counts:
            raise PortfolioError(Message(N_(
                "{where} has no value '{value}' (--target-event-value); its values are {values}. Give one of "
                "them."), where=where, value=str(event_value), values=values.listing()))
        return key
    if values.zero_one:
        return "1"
    example = values.shown[next((k for k in keys if k in _YES_WORDS), keys[-1])]
    raise PortfolioError(Message(N_(
        "{where} holds {values}, not 0/1, so it is unclear which value means '{event}'. Name it: "
        "--target-event-value {quoted} if '{example}' means the account was paid, or --target-event default "
        "--target-event-value {quoted} if it means the account was NOT paid."), where=where,
        values=values.listing(), event=Message(EVENT_WORDS[event]), quoted=_quoted(example), example=example))


def _quoted(text: str) -> str:
    return text if text and all(ch.isalnum() or ch in "._-" for ch in text) else f'"{text}"'
