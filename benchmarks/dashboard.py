"""Where the dashboard's time goes: each panel timed on its own, in-process, against one database.

The scale benchmark (``benchmarks/scale.py``) times the whole page through the server; this one
opens the app on ``--database`` and times, ``--repeat`` times each after one warm-up, every part
``qms.web.main.dashboard_body`` computes: the NC and action figures (``dashboard_figures``
without its sub-panels), the customer panel, the supplier and calibration panel, competence
coverage, the objectives panel, the certification panel (readiness facts), the risk heat map, the
whole body as a view gets it (per-process cache off), and, where the code keeps the panels in
the database (``refresh_panels``), the beat's refresh of both variants. Prints the median and the
maximum of each, in milliseconds, with the load average, so two databases (10k and 1M NCs), or
two checkouts on one database, can be compared part by part.

It writes nothing but the dashboard's stored panels (the whole body stores them when they are
missing or old, the refresh always): use it on shared databases only with code that has none.
Run it with the code to measure on the path (PYTHONPATH=<worktree>).

Usage: QMS_INSTANCE_PATH=/tmp/qms_scale python benchmarks/dashboard.py \
    --database postgresql+psycopg://postgres@127.0.0.1:5432/qms_scale_1m [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
from collections.abc import Callable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="SQLAlchemy URL of the database to read")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each part (after one warm-up)")
    args = parser.parse_args()
    os.environ["QMS_DATABASE_URL"] = args.database
    os.environ.setdefault("QMS_ENV", "production")
    os.environ["QMS_DASHBOARD_CACHE_SECONDS"] = "0"

    from qms import create_app
    from qms.database import db
    from qms.services import dashboard
    from qms.services.risks import heat_map
    from qms.web.main import dashboard_body

    app = create_app()
    today = dt.date.today()

    def figures_only() -> object:
        # dashboard_figures also builds the customer and support panels: time them apart
        saved = dashboard.customer_panel, dashboard.support_panel
        dashboard.customer_panel = lambda today: None  # type: ignore[assignment]
        dashboard.support_panel = lambda today: None  # type: ignore[assignment]
        try:
            return dashboard.dashboard_figures(today)
        finally:
            dashboard.customer_panel, dashboard.support_panel = saved

    parts: dict[str, Callable[[], object]] = {
        "NC and action figures": figures_only,
        "customer panel": lambda: dashboard.customer_panel(today),
        "suppliers and calibration": lambda: dashboard.support_panel(today),
        "competence coverage": lambda: dashboard.Figures(0, 0, 0, 0, None, 0, today=today).competence_coverage,
        "objectives panel": lambda: dashboard.Figures(0, 0, 0, 0, None, 0, today=today).objectives,
        "certification panel": lambda: dashboard.certification_panel(today),
        "risk heat map": heat_map,
    }
    with app.test_request_context("/"):
        parts["whole body (cache off)"] = lambda: dashboard_body(True)
        try:
            from qms.web.main import refresh_panels
        except ImportError:  # code from before the panels were kept
            pass
        else:
            parts["panels refreshed (beat)"] = refresh_panels
        print(f"{args.database.rsplit('/', 1)[-1]}: load average {os.getloadavg()[0]:.2f} at start")
        for name, part in parts.items():
            times = []
            for i in range(args.repeat + 1):
                started = time.perf_counter()
                part()
                elapsed = (time.perf_counter() - started) * 1000
                db.session.rollback()
                if i:
                    times.append(elapsed)
            print(f"  {name:28} median {statistics.median(times):9.1f} ms   max {max(times):9.1f} ms")
        print(f"  load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
