"""The phase engine (PHASE-MODEL.md): rollups of the participation log, metrics, gates,
the stability rule and daily snapshots. See ``selectors`` for what the dashboard reads."""
