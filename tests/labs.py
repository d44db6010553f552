"""Labs of the test suite: every lab code the tests ingest under, registered in a test's store.

Ingestion accepts registered labs only (:meth:`kinship.store.Store.register_lab`). The unit
tests' ``store`` fixture registers :data:`TEST_LABS`; a test that opens its own store, or a flow
test that gives a store path, calls :func:`register_test_labs` first. Registration is idempotent.
"""

from __future__ import annotations

from pathlib import Path

from kinship.store import Store

#: Code -> display name of every lab the tests use (one is a Chinese name on purpose).
TEST_LABS = {
    "DEMO-LAB": "Demo lab (synthetic batch)",
    "L": "Test lab L",
    "L1": "Test lab L1",
    "LAB1": "Test lab LAB1",
    "LAB-1": "Test lab LAB-1",
    "NFI": "Netherlands Forensic Institute (test fixtures)",
    "OUS": "Oslo University Hospital (test fixtures)",
    "OTHER": "Another test lab",
    "SEQ": "Sequencing test lab",
    "1KG": "1000 Genomes (test fixtures)",
    "BJ-PSB": "北京市公安局物证鉴定中心",
}


def register_test_labs(store: Store | str | Path, *, schema: str | None = None) -> None:
    """Register :data:`TEST_LABS` in ``store`` (a :class:`Store`, or a path / URL to open)."""
    if isinstance(store, Store):
        for code, name in TEST_LABS.items():
            store.register_lab(code, name)
        return
    with Store(store, schema=schema) as opened:
        register_test_labs(opened)
