"""A small synthetic collections book with planted personas, for unit tests that need no generator."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

CENTRES = {  # balance EUR, days past due, payments 12m, contact response rate, broken promises
    0: (300, 20, 8, 0.8, 0),
    1: (5000, 200, 0, 0.05, 1),
    2: (1200, 60, 4, 0.5, 3),
    3: (15000, 45, 6, 0.7, 0),
    4: (800, 120, 1, 0.1, 0),
}


def synthetic_frame(rows: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    persona = rng.integers(0, len(CENTRES), rows)
    c = np.array([CENTRES[p] for p in persona], dtype=float)
    frame = pd.DataFrame({
        "account_id": [f"A{seed}-{i:06d}" for i in range(rows)],
        "balance": np.round(c[:, 0] * rng.lognormal(0, 0.25, rows), 2),
        "days_past_due": np.clip(c[:, 1] * rng.lognormal(0, 0.15, rows), 1, None).round(),
        "payments_12m": rng.poisson(c[:, 2]),
        "contact_response_rate": np.clip(c[:, 3] + rng.normal(0, 0.05, rows), 0, 1),
        "broken_promises": rng.poisson(c[:, 4]),
        "region": rng.choice(["North", "South", "East", "West"], rows),
        "email": [f"user{i}@example.com" for i in range(rows)],
        "age": rng.integers(18, 90, rows),
        "paid_90d": (rng.random(rows) < np.where(persona == 0, 0.7, 0.2)).astype(int),
        "true_persona": persona,
    })
    frame.loc[rng.random(rows) < 0.03, "contact_response_rate"] = np.nan
    return frame


class _Roles(SimpleNamespace):
    def to_dict(self):
        return {"roles": self.roles, "reasons": self.reasons, "renamed": {}}


def synthetic_roles(frame: pd.DataFrame):
    roles = {"account_id": "account_id", "balance": "balance", "days_past_due": "days_past_due",
             "payments_12m": "feature", "contact_response_rate": "feature", "broken_promises": "feature",
             "region": "feature", "email": "pii", "age": "sensitive", "paid_90d": "target",
             "true_persona": "truth"}
    roles = {k: v for k, v in roles.items() if k in frame.columns}
    pick = lambda role: [c for c, r in roles.items() if r == role]
    return _Roles(roles=roles, reasons={c: f"test role {r}" for c, r in roles.items()}, renamed={},
                  features=pick("feature"), pii=pick("pii"), sensitive=pick("sensitive"),
                  targets=pick("target"), truth=pick("truth"), excluded=pick("excluded"))


def synthetic_portfolio(rows: int = 1500, seed: int = 0):
    import hashlib

    frame = synthetic_frame(rows, seed)
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame).values.tobytes()).hexdigest()
    report = SimpleNamespace(n_rows_read=rows, n_rows_usable=rows, excluded_rows=pd.DataFrame(), problems=[])
    return SimpleNamespace(frame=frame, roles=synthetic_roles(frame), report=report, sha256=digest,
                           source_name=f"synthetic_{rows}_{seed}.csv")
