"""Analysis: clustering estimators, hotspot tables, evaluation and trends. No I/O here."""
