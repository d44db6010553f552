"""Ingestion: normalise and validate genotype records, and land one batch (export + manifest) in the store.

Every row of the export ends in exactly one of three outcomes, and the
:class:`IngestSummary` counts add up (``n_rows == n_landed + n_untyped + n_quarantined``):

``landed``
    a genotype in the store after the batch (newly added, or identical to the stored one);
``untyped``
    a row of a manifest sample with no usable call: an off-ladder ``OL`` call alone or beside
    two alleles, no allele called (dropout, ``?/?``), or a partial genotype at a locus that is
    not autosomal. Nothing is stored for it and a warning says why;
``quarantined``
    kept out of the store with a reason and a fix (table ``quarantine``).

The rules that decide it are one function each (:mod:`kinship.app.ingest.row_rules`,
:mod:`kinship.app.ingest.sample_rules`).

Row rules (:func:`normalise_records`), in order:

1. locus name -> canonical name via the locus catalogue; an unknown name is quarantined with
   the catalogue's "did you mean" suggestion;
2. an allele outside the kit's ladder written as ``">27"`` or ``"<6"`` is quarantined
   (``out_of_range``): its repeat number is unknown, so it can be neither matched nor given a
   frequency, and guessing 27 or 28 could create a false exclusion; the rest of the profile
   lands;
3. each call via :func:`kinship.genetics.alleles.parse_allele`, a declared unknown allele
   (``?`` or ``-``) as :data:`kinship.genetics.alleles.UNKNOWN_ALLELE`; an invalid label is
   quarantined, and so is an unknown allele beside two called ones (``12, 14, ?``);
4. a call outside the locus's plausible range (half the smallest to 1.5 times the largest
   ladder allele of the bundled kits) or with a microvariant digit the repeat period does not
   allow is quarantined (``implausible_allele``); one outside the ladders but plausible lands
   and flags the sample (``off_ladder_allele``);
5. more than two distinct alleles called (``OL`` peaks not counted) -> the row is quarantined
   as a three-allele pattern (the locus is left out of the profile) and the sample is flagged;
   at a Y-STR locus two values are a duplication or a multi-copy locus's two copies (DYS385a/b,
   DYF387S1a/b) and land, three or more called values are a triplication, quarantined as
   ``y_copy_number`` (two allele columns cannot hold it), never a mixture sign; a null allele
   there (``0`` or ``null``) lands as ``0`` (:mod:`kinship.genetics.ystr`);
6. ``OL`` alone, ``OL`` beside two alleles (a third peak) or two ``OL`` beside one -> untyped
   with a warning (``off_ladder``); no call (``?/?`` too) -> untyped with a warning; a partial
   genotype at Amelogenin (``X, ?`` tells no sex), a Y-STR or a quality locus -> untyped
   (``partial_not_autosomal``);
7. otherwise one allele is a homozygote (``12`` and ``12, 12`` agree), two are sorted in
   canonical order (:func:`kinship.genetics.alleles.allele_sort_key`), and one allele beside a
   declared unknown (``12, ?``, ``12, -``, ``?, 12``, ``12/-`` in one cell) is the *partial*
   genotype ``("12", "?")``, the unknown always second. One allele beside one ``OL`` peak is
   the same partial genotype (the off-ladder peak is the other allele, of unknown size), with a
   ``partial_off_ladder`` warning. A blank second allele stays a homozygote (the GeneMapper
   convention, and the tidy one).

Sample rules (:func:`plan_batch`): a sample with ``mixture_min_loci`` (2) or more three-allele
loci is a probable mixture and wholly quarantined; a sample not in the manifest (allelic
ladders, positive and negative controls, unknown samples) or with an invalid manifest row is
wholly quarantined; two different genotypes for one sample and locus, in the batch or against
the store, quarantine the sample's submission with a locus-by-locus diff (a stored genotype
is never overwritten; a partial ``12/?`` and a full ``12/14`` differ, and the reason says one
is partial); a conflicting role, lab or family slot (a second father) quarantines
the sample; a sample with fewer than ``min_autosomal_loci`` (12) typed autosomal loci (this
batch and the store together; a partial genotype counts, it carries evidence) is quarantined
(``too_few_loci``). Samples a reader refuses
(a CODIS specimen of a forensic category: not reference material) are quarantined whole.
Amelogenin, Y and quality-sensor loci are stored like any locus; their kind lives in the
catalogue, and the matcher keeps them out of the likelihood ratio.

Flags (warnings of the kinds :data:`FLAG_KINDS`; the records land, and ``n_flagged`` counts
them): ``sex_check`` (Amelogenin disagrees with the declared sex, or with the sex a father
(X,Y) or mother (X,X) implies), ``three_allele_locus`` (a locus left out, above),
``profile_extended`` (a re-test of a stored sample that only adds loci the first typing
lacked: the new loci land and the extension is recorded), ``possible_duplicate`` (the
landed profile equals another sample's at every shared autosomal locus, at least
``duplicate_min_loci`` (10) of them: the same person sampled twice, or a sample swap),
``off_ladder_allele`` (an allele outside every bundled kit's ladder but plausible, rule 4).

Records a reader can not place on any catalogue locus (the non-forensic STRs of a sequencing
VCF) are not rows: they are counted (``n_records_skipped``) and reported in one warning
(``not_in_catalogue``), never errors.

A quarantined row and a warning are one record type, :class:`IngestRecord`, told apart by its
``severity``.

A batch is idempotent and atomic: its key is the SHA-256 of the export and manifest bytes
and of what else identifies it (:func:`batch_identity`: lab, format, kit, reader options and
the sample rules' thresholds), a second submission of the same batch adds nothing (``already_ingested=True``), and all rows (landed and quarantined) are
written in one transaction of the store (:meth:`kinship.store.Store.batch_transaction`), which
also serialises concurrent ingestions: two processes landing the same file land it once.

Modules: :mod:`~kinship.app.ingest.records` (outcomes, :class:`IngestRecord`,
:class:`IngestSummary`), :mod:`~kinship.app.ingest.row_rules` and
:mod:`~kinship.app.ingest.sample_rules` (the rules),
:mod:`~kinship.app.ingest.plan` (:func:`normalise_records`, :func:`plan_batch`: no I/O),
:mod:`~kinship.app.ingest.batch` (:func:`ingest_batch`: read, plan, write) and
:mod:`~kinship.app.ingest.pedigrees` (:func:`ingest_pedigrees`) and
:mod:`~kinship.app.ingest.pseudonyms` (what may be stored only as a pseudonym). The Markdown summary of an
ingestion is :func:`kinship.report.ingestion_summary_markdown`.
"""

from __future__ import annotations

from kinship.app.ingest.batch import batch_identity, batch_sha256, ingest_batch
from kinship.app.ingest.pedigrees import PedigreeIngestSummary, ingest_pedigrees
from kinship.app.ingest.plan import DUPLICATE_MIN_LOCI, BatchPlan, duplicate_warnings, normalise_records, plan_batch
from kinship.app.ingest.records import FLAG_KINDS, LANDED, QUARANTINED, UNTYPED, IngestRecord, IngestSummary
from kinship.app.ingest.sample_rules import MIN_AUTOSOMAL_LOCI, MIXTURE_MIN_LOCI

__all__ = [
    "MIXTURE_MIN_LOCI",
    "MIN_AUTOSOMAL_LOCI",
    "DUPLICATE_MIN_LOCI",
    "FLAG_KINDS",
    "LANDED",
    "UNTYPED",
    "QUARANTINED",
    "duplicate_warnings",
    "IngestRecord",
    "IngestSummary",
    "batch_identity",
    "batch_sha256",
    "normalise_records",
    "plan_batch",
    "BatchPlan",
    "ingest_batch",
    "PedigreeIngestSummary",
    "ingest_pedigrees",
]
