"""Read-only views of mappings for the Strategies and Audit pages (mixed into ``ReviewStore``)."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import select

from core.errors import UserError
from strategy import tables as t
from strategy.catalogue import Strategy
from strategy.mapping_view import Veto
from strategy.texts import stored_evidence
from core.i18n import persona_name

if TYPE_CHECKING:
    from strategy.run_view import RunView
    from strategy.workflow import MappingView


class MappingQueries:
    """Query methods of :class:`strategy.store.ReviewStore`."""

    def get_mapping(self, run: "RunView", persona_id: int,
                    portfolio: pd.DataFrame | None = None) -> "MappingView":
        """The persona's mapping with guardrail results; :class:`UserError` if there is none."""
        with self.engine.connect() as conn:
            row = self._row(conn, run.run_id, persona_id)
            if row is None:
                raise UserError(f"persona {persona_id} of run {run.run_id} has no strategy yet; "
                                "propose one first")
            return self._view(conn, row, run, portfolio)

    def find_mapping(self, run: "RunView", persona_id: int) -> "MappingView | None":
        """Like :meth:`get_mapping` but ``None`` when the persona has no mapping."""
        try:
            return self.get_mapping(run, persona_id)
        except UserError:
            return None

    def list_mappings(self, run: "RunView",
                      portfolio: pd.DataFrame | None = None) -> list["MappingView"]:
        """All mappings of the run (in persona order) with state, guardrails and approval validity."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.mappings).where(t.mappings.c.run_id == run.run_id)
                                .order_by(t.mappings.c.persona_id)).all()
            return [self._view(conn, dict(row._mapping), run, portfolio) for row in rows]

    def mappings_frame(self, run: "RunView",
                       portfolio: pd.DataFrame | None = None) -> pd.DataFrame:
        """One row per persona of the run (also those without a mapping), for ``st.data_editor``.

        ``portfolio`` (the run's portfolio rows) makes ``guardrails_pass`` the same check that
        approval and export run; without it only the persona profiles are checked.
        """
        by_id = {m.persona_id: m for m in self.list_mappings(run, portfolio)}
        records = []
        for profile in run.profiles:
            pid = int(profile["persona_id"])
            mapping = by_id.get(pid)
            record: dict[str, Any] = {"persona_id": pid, "persona_name": persona_name(profile),
                                      "size": profile.get("size"),
                                      "state": mapping.state if mapping else "none",
                                      "version": mapping.version if mapping else 0}
            if mapping:
                record.update(mapping.strategy.to_dict())
                record["contact_weekdays"] = ",".join(mapping.strategy.contact_weekdays)
                record.update(guardrails_pass=mapping.guardrails_pass,
                              proposed_by=mapping.proposed_by, approved_by=mapping.approved_by,
                              approved_at=mapping.approved_at, reason=mapping.reason)
            records.append(record)
        return pd.DataFrame.from_records(records)

    def mapping_history(self, run_id: str, persona_id: int) -> list[dict[str, Any]]:
        """Strategy versions of the persona (oldest first): id, strategy, hash, author, time."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.strategy_versions).where(
                t.strategy_versions.c.run_id == run_id,
                t.strategy_versions.c.persona_id == int(persona_id))
                .order_by(t.strategy_versions.c.id)).all()
        return [{"strategy_version_id": r.id, "strategy": Strategy.from_dict(json.loads(r.content)),
                 "content_hash": r.content_hash, "evidence": stored_evidence(dict(r._mapping)),
                 "created_by": r.created_by, "created_at": r.created_at} for r in rows]

    def vetoes(self, run_id: str, persona_id: int | None = None, *,
               active_only: bool = False) -> list[Veto]:
        """Compliance vetoes of the run (oldest first), optionally of one persona or standing only."""
        query = select(t.vetoes).where(t.vetoes.c.run_id == run_id).order_by(t.vetoes.c.id)
        if persona_id is not None:
            query = query.where(t.vetoes.c.persona_id == int(persona_id))
        if active_only:
            query = query.where(t.vetoes.c.lifted_at.is_(None))
        with self.engine.connect() as conn:
            return [Veto(**dict(r._mapping)) for r in conn.execute(query)]
