"""The application layer: the rules of ingestion and one match run, step by step.

* :mod:`kinship.app.ingest` - a lab batch (export + manifest) through the readers, the row and
  sample rules (quarantine, flags) and into the store, atomically;
* :mod:`kinship.app.match_run` - one match run: stored profiles → effective frequency table →
  encoded profiles → plan (full or incremental) → scored shards → ranked, calibrated pairs →
  per-locus detail → provenance;
* :mod:`kinship.app.parameters` - the validated parameters of a match run, built once by the
  library, the flows and the command line.

Layer 5, the top (README, *Layout*): it may use every layer below; the flows (``flows/``) call
one of its functions per task.
"""
