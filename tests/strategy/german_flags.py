"""A German portfolio with every protective flag, and what each flag forbids.

Column names are ones the sample generator never writes ("Fallnummer", "Einwand erhoben",
"Insolvenzverfahren" ...); flags come as J/N or as 0/1. Accounts cycle through the flags so
every persona holds a few of each (few enough that the persona-level guardrails pass):

====  ===================================  =========================================
i%20  flag                                 forbidden
====  ===================================  =========================================
0     insolvency                           any step
1     open dispute                         anything but one clarification letter
2     over-indebted                        agency, court, bureau, disconnection; needs a referral
3     time-barred (ERP flag)               agency, court, bureau, disconnection, announcements
4     time-barred (due date 2021, computed)  as above
5     objection to SMS                     SMS
6     objection to phone                   phone
7     WhatsApp opt-in                      (WhatsApp allowed)
8     conversation two days before start   contact within the quiet period
9     balance €50                          agency, court
====  ===================================  =========================================
"""
from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pandas as pd

START = date(2026, 12, 21)  # a Monday before Christmas: holidays on 25 and 26 December
ENFORCEMENT = {"agency", "court", "credit_bureau", "disconnection_threat", "disconnection_notice"}
FLAG_COLUMNS = ("Insolvenzverfahren", "Einwand erhoben", "Überschuldet", "Forderung verjährt",
                "SMS Widerspruch", "Telefon gesperrt", "WhatsApp Einwilligung")


def german_portfolio(n_per_persona: int = 40, personas: int = 2, style: str = "JN") -> pd.DataFrame:
    """Accounts of ``personas`` personas (``n_per_persona`` each) with the flags above.

    ``style`` "JN" writes flags as J/N, "01" as 0/1.
    """
    yes, no = ("J", "N") if style == "JN" else (1, 0)
    rows = []
    for pid in range(personas):
        for i in range(n_per_persona):
            kind = i % 20
            rows.append({
                "Fallnummer": f"F{pid}-{i:04d}",
                "Restforderung": 50.0 if kind == 9 else 400.0 + 10 * i,
                "Tage im Verzug": 2100 if kind == 4 else 60 + i,
                "Fälligkeit": "15.03.2021" if kind == 4 else (START - timedelta(days=60 + i)).strftime("%d.%m.%Y"),
                "Insolvenzverfahren": yes if kind == 0 else no,
                "Einwand erhoben": yes if kind == 1 else no,
                "Überschuldet": yes if kind == 2 else no,
                "Forderung verjährt": yes if kind == 3 else no,
                "SMS Widerspruch": yes if kind == 5 else no,
                "Telefon gesperrt": yes if kind == 6 else no,
                "WhatsApp Einwilligung": yes if kind == 7 else no,
                "Letztes Gespräch": (START - timedelta(days=2)).strftime("%d.%m.%Y") if kind == 8 else "",
                "persona": pid,
            })
    return pd.DataFrame(rows)


def expected_flags(frame: pd.DataFrame) -> dict[str, dict[str, bool]]:
    """Per account id (the ``Fallnummer``), which protections hold, decided from the test's own data."""
    def yes(value: Any) -> bool:
        return str(value) in ("J", "1")

    out = {}
    for row in frame.to_dict("records"):
        out[str(row["Fallnummer"])] = {
            "insolvency": yes(row["Insolvenzverfahren"]), "dispute": yes(row["Einwand erhoben"]),
            "hardship": yes(row["Überschuldet"]),
            "time_barred": yes(row["Forderung verjährt"]) or row["Fälligkeit"] == "15.03.2021",
            "no_sms": yes(row["SMS Widerspruch"]), "no_phone": yes(row["Telefon gesperrt"]),
            "whatsapp_ok": yes(row["WhatsApp Einwilligung"]),
            "small": float(row["Restforderung"]) < 100,
            "talked_on": row["Letztes Gespräch"] or None,
        }
    return out


def forbidden(flags: dict[str, Any], steps: list[dict[str, Any]]) -> list[str]:
    """Every step ``steps`` holds that the account's flags forbid (empty when none)."""
    actions = [s["action"] for s in steps]
    channels = {s["channel"] for s in steps}
    found = []
    if flags["insolvency"] and steps:
        found.append(f"insolvency but steps {actions}")
    if flags["dispute"]:
        if set(actions) - {"clarification"} or len(actions) > 1:
            found.append(f"dispute but {actions}")
        if any((s.get("offer") or {}).get("kind") == "settlement_discount" for s in steps):
            found.append("dispute but a settlement discount")
    if flags["hardship"]:
        if ENFORCEMENT & set(actions):
            found.append(f"over-indebted but {sorted(ENFORCEMENT & set(actions))}")
        if steps and "referral" not in actions:
            found.append("over-indebted without a referral")
    if flags["time_barred"]:
        if ENFORCEMENT & set(actions):
            found.append(f"time-barred but {sorted(ENFORCEMENT & set(actions))}")
        if any(set(s.get("notices") or ()) & {"agency", "court", "credit_bureau", "disconnection"} for s in steps):
            found.append("time-barred but an announcement of enforcement")
    if flags["no_sms"] and "sms" in channels:
        found.append("SMS objection but an SMS")
    if flags["no_phone"] and "phone" in channels:
        found.append("phone objection but a call")
    if not flags["whatsapp_ok"] and "whatsapp" in channels:
        found.append("WhatsApp without opt-in")
    if flags["small"] and {"agency", "court"} & set(actions):
        found.append("balance below the minimum but agency or court")
    return found


def steps_of_cell(value: Any) -> list[dict[str, Any]]:
    """The steps of a CSV or XLSX cell (JSON text; a CSV-escaped cell starts with a quote)."""
    if isinstance(value, list):
        return value
    text = str(value or "[]")
    return json.loads(text[1:] if text.startswith("'") else text)
