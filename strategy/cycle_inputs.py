"""What the read-out and the KPIs need from the review database, read once for the CLI and the app alike:
a run's approved experiments and, when contact costs are configured, each arm's planned contacts."""
from __future__ import annotations

from typing import Any


def experiments_and_contacts(store: Any, run: Any, with_costs: bool) -> tuple[dict, dict]:
    """``({persona_id: Experiment}, {(persona_id, arm): {channel: planned contacts per account}})`` of ``run``.

    Planned contacts are listed only ``with_costs`` (they only price contacts) and only for approved
    journeys: a champion that is not approved is not executed, so it costs nothing; the holdout arm
    is never contacted."""
    from strategy.experiments import experiments_for_run
    from strategy.readout import planned_contacts

    experiments = experiments_for_run(store, run.run_id)
    contacts: dict[tuple[int, str], dict[str, float]] = {}
    if with_costs:
        for persona_id in run.persona_ids:
            mapping = store.find_mapping(run, persona_id)
            experiment = experiments.get(persona_id)
            days = getattr(experiment, "planned_days", None)
            if mapping is not None and mapping.state == "approved":
                contacts[(persona_id, "champion")] = planned_contacts(mapping.strategy, days=days)
            if experiment is not None and experiment.challenger is not None:
                contacts[(persona_id, "challenger")] = planned_contacts(experiment.challenger, days=days)
                contacts[(persona_id, "holdout")] = {}
    return experiments, contacts
