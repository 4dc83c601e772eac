"""Quality objectives and their KPIs (ISO 9001 6.2, 9.1.3): see ``objectives`` (setting, measuring,
the lifecycle), ``measures`` (the registry of measures computed from the records) and ``status``
(status against the target, forecast, trend chart)."""

from . import module_measures as module_measures  # registers the training, supplier and equipment measures
from .measures import MEASURES, Measure, computed_measure
from .objectives import (
    MEASURE_ROLES,
    OWNER_ROLES,
    PLAN_FIELDS,
    SET_ROLES,
    can_measure,
    create_objective,
    import_measurements_csv,
    last_measured,
    measurement_points,
    periods,
    record_measurement,
    refresh_all_computed,
    refresh_computed,
    update_objective,
)
from .status import STATUS_LABELS, ObjectiveStatus, forecast_at, linear_fit, objective_status, trend_svg
from .summary import ObjectivePanel, objective_panel, objective_statuses, objectives_summary

__all__ = [
    "MEASURES",
    "MEASURE_ROLES",
    "OWNER_ROLES",
    "PLAN_FIELDS",
    "SET_ROLES",
    "STATUS_LABELS",
    "Measure",
    "ObjectivePanel",
    "ObjectiveStatus",
    "can_measure",
    "computed_measure",
    "create_objective",
    "forecast_at",
    "import_measurements_csv",
    "last_measured",
    "linear_fit",
    "measurement_points",
    "objective_panel",
    "objective_status",
    "objective_statuses",
    "objectives_summary",
    "periods",
    "record_measurement",
    "refresh_all_computed",
    "refresh_computed",
    "trend_svg",
    "update_objective",
]
