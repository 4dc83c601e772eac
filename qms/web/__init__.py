"""Server-rendered web UI: one module per area, each with its blueprint."""
