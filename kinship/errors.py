"""Exceptions raised by the kinship library.

Every input error subclasses :class:`ReuniteInputError`, itself a :class:`ValueError`,
so callers can catch all bad-input conditions at the boundary with one clause. Messages
name the object, the value, what was expected and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "ReuniteInputError",
    "UnknownLocusError",
    "AlleleError",
    "FrequencyTableError",
    "MutationModelError",
    "ManifestError",
    "ExportFormatError",
    "StoreError",
    "PedigreeError",
    "NothingLandedError",
]


class ReuniteInputError(ValueError):
    """Base class of every error caused by bad input (files, parameters, records)."""


class UnknownLocusError(ReuniteInputError):
    """A locus name that is neither a canonical name nor an alias in the catalogue."""

    def __init__(self, name: str, suggestion: str | None, context: str = ""):
        self.name = name
        self.suggestion = suggestion
        hint = f"; did you mean {suggestion}?" if suggestion else ""
        where = f" ({context})" if context else ""
        super().__init__(
            f"unknown locus {name!r}{where}{hint} Expected a locus of the catalogue "
            "kinship/data/loci.csv (names match regardless of case, spaces and punctuation); "
            "fix the name in the export, or add the locus with its aliases to the catalogue."
        )


class AlleleError(ReuniteInputError):
    """An allele label that is not valid ISFG nomenclature."""


class FrequencyTableError(ReuniteInputError):
    """A frequency table that is malformed or lacks what a computation needs."""


class MutationModelError(ReuniteInputError):
    """Mutation-model parameters that do not define a valid transition matrix."""


class ManifestError(ReuniteInputError):
    """A manifest file or row that does not follow the manifest schema."""


class ExportFormatError(ReuniteInputError):
    """A lab export whose layout is not a supported format."""


class StoreError(ReuniteInputError):
    """A request to the store that conflicts with what it holds."""


class NothingLandedError(ReuniteInputError):
    """A batch ingested without landing a single sample: every row quarantined or untyped.

    The batch and its quarantine are recorded (the lab reads the reasons); a command line must
    exit non-zero on it (:meth:`kinship.app.ingest.IngestSummary.check_landed`)."""


class PedigreeError(ReuniteInputError):
    """A pedigree (relationship kinds, a PED-style table or a .fam file) that is not valid."""
