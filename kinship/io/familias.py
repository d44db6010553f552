"""Read Familias ``.fam`` files: persons, genotypes, pedigrees, frequencies, mutation models.

The ``.fam`` format (Familias 3; Egeland, Mostad, Mevåg & Stenersen 2000) is line-oriented
Latin-1 text without a published specification; the layout read here follows the reference
reader ``pedFamilias::readFam`` (Vigeland). Main section, in order:

* header (3 lines), optional empty line, number of persons; per person: name, 3 flag lines,
  ``#TRUE#`` if male, number of typed loci, then per locus three 0-based integers (allele 1
  index, allele 2 index, locus index into the database);
* ``"Known relations"``: extra females, extra males (unnamed untyped members), and
  (parent index, child index) pairs; then the pedigrees (hypotheses), each with its own extra
  members and (parent, child) pairs;
* the database: a line carrying ``Theta/Kinship/Fst``, the number of loci, optional
  name, then per locus: name, female and male rate, female and male model code (0 equal,
  1 proportional, 2 stepwise, 3 stationary stepwise, 4 extended stepwise), number of alleles,
  female and male range, female and male rate2, silent-allele flag (``#TRUE#``) and the silent
  allele's frequency, the allele count line (the alleles other than the silent one, with
  ``DatabaseSize``), and allele/frequency pairs. The count on the line after the model codes
  includes the silent allele; the silent allele has no allele/frequency pair of its own.

A locus's silent allele is kept as the allele :data:`~kinship.genetics.alleles.SILENT_ALLELE`
(``"silent"``), after the locus's other alleles, with the frequency the file gives it (the other
frequencies are not changed: in Familias they sum to 1 with it). A person typed with the silent
allele is refused (a profile never carries it: an apparent homozygote is typed ``a/a``).
:meth:`FamiliasFile.frequency_table` gives the database as a
:class:`~kinship.genetics.frequencies.FrequencyTable`, under the sum rule of every table.
Frequencies that are missing (the file ends inside the database, a person's locus index beyond
the database's loci, an allele index beyond its locus's alleles) are refused naming the line,
the person or locus and what the database holds, never an ``IndexError``.

The ``[DVI]`` section (unidentified persons and reference families of DVI files) is not read:
only the main section is. Stationary stepwise (code 3) needs pedmut's stabilisation and is
refused with that message; a ``"Rest allele"`` is kept as a non-numeric allele (stepwise then
fails: use ``equal``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kinship.errors import PedigreeError
from kinship.genetics.alleles import SILENT_ALLELE
from kinship.genetics.frequencies import FrequencyTable
from kinship.genetics.mutation import MutationModel
from kinship.likelihood.pedigree import Pedigree

__all__ = ["FamiliasLocus", "FamiliasFile", "read_familias"]

_MODEL_CODES = {0: "equal", 1: "proportional", 2: "stepwise", 4: "stepwise"}


@dataclass(frozen=True)
class FamiliasLocus:
    """One database locus: alleles, frequencies and the two sexes' mutation models.

    ``alleles`` end with ``"silent"`` when the file gives the locus a silent allele; ``afreq``
    are the file's frequencies, one per allele.
    """

    name: str
    alleles: tuple[str, ...]
    afreq: np.ndarray
    female: MutationModel
    male: MutationModel
    database_size: int | None = None

    def matrices(self) -> tuple[np.ndarray, np.ndarray]:
        """``(M_male, M_female)`` over this locus's alleles."""
        return (
            self.male.matrix(self.alleles, self.afreq, "male"),
            self.female.matrix(self.alleles, self.afreq, "female"),
        )


@dataclass(frozen=True)
class FamiliasFile:
    """Contents of a ``.fam`` file's main section.

    Attributes
    ----------
    persons : tuple of (name, sex)
    genotypes : dict name -> {locus: (allele, allele)}
    pedigrees : dict pedigree name -> Pedigree
        Every named person plus the extra (untyped) members; ``sample_ids`` are the names of
        the typed persons; ``missing`` is not set (-1): mark it with :meth:`pedigree`.
    loci : dict name -> FamiliasLocus, in database order
    theta : float
    """

    version: str
    persons: tuple[tuple[str, str], ...]
    genotypes: dict
    pedigrees: dict
    loci: dict
    theta: float = 0.0
    database_name: str = ""
    has_dvi: bool = False
    notes: list = field(default_factory=list)

    def frequency_table(self, name: str | None = None) -> FrequencyTable:
        """The database as a frequency table (locus and allele names as the file gives them;
        a silent allele as ``"silent"``), under the sum rule of
        :meth:`~kinship.genetics.frequencies.FrequencyTable.from_mapping`.

        ``DatabaseSize`` is not taken as the table's N (the file does not say whether it counts
        persons or alleles), so an allele the table lacks gets the frequency floor.

        Raises
        ------
        FrequencyTableError
            A locus whose frequencies sum outside 1 ± 0.01 (naming the locus and the sum).

        Examples
        --------
        >>> from pathlib import Path
        >>> f = read_familias(Path(__file__).parents[2] / "tests/data/familias/dvi-example.fam")
        >>> t = f.frequency_table()
        >>> t.name, t["L1"].alleles, t["L1"].afreq.tolist()
        ('Untitled database', ('1', '2', '3'), [0.05, 0.05, 0.9])
        """
        label = name or self.database_name or "Familias database"
        return FrequencyTable.from_mapping(
            label, {locus: dict(zip(lf.alleles, lf.afreq.tolist())) for locus, lf in self.loci.items()}
        )

    def pedigree(self, name: str, missing: str) -> Pedigree:
        """Pedigree ``name`` with member ``missing`` marked as the missing child (untyped)."""
        ped = self.pedigrees[name]
        k = ped.index(missing)
        samples = list(ped.sample_ids)
        samples[k] = None
        return Pedigree(ped.ids, ped.father, ped.mother, ped.sex, tuple(samples), k)


def _lines(path: Path) -> list[str]:
    return [line.rstrip("\r\n").replace('"', "") for line in path.read_text(encoding="latin-1").split("\n")]


def read_familias(path: str | Path) -> FamiliasFile:
    """Read the main section of a Familias ``.fam`` file.

    Raises
    ------
    PedigreeError
        Naming the line, the value found and what was expected; also when frequencies are
        missing (the database ends early, a person typed at a locus or allele the database lacks)
        or a person is typed with the silent allele.

    Examples
    --------
    >>> from pathlib import Path
    >>> f = read_familias(Path(__file__).parents[2] / "tests/data/familias/dvi-example.fam")
    >>> list(f.loci), f.loci["L1"].alleles, f.loci["L1"].afreq.tolist()
    (['L1'], ('1', '2', '3'), [0.05, 0.05, 0.9])
    """
    path = Path(path)
    x = _lines(path)

    def need_int(i: int, what: str) -> int:
        try:
            return int(x[i].split("\t")[0].strip())
        except (ValueError, IndexError):
            found = x[i] if i < len(x) else "end of file"
            raise PedigreeError(
                f"{path.name} line {i + 1}: expected {what}, found {found!r}; is this a Familias 3 .fam file?"
            ) from None

    def need_float(i: int, what: str) -> float:
        try:
            return float(x[i])
        except (ValueError, IndexError):
            raise PedigreeError(f"{path.name} line {i + 1}: expected {what}, found {x[i] if i < len(x) else 'EOF'!r}") from None

    if not x or not x[0].startswith("Output from Familias"):
        raise PedigreeError(f"{path.name} line 1: expected 'Output from Familias, version ...', found {x[0] if x else ''!r}")
    version = x[2]
    line = 3 if x[3] != "" else 4
    n_persons = need_int(line, "the number of persons")
    line += 1
    names, sexes, raw_geno = [], [], []
    for _ in range(n_persons):
        names.append(x[line])
        sexes.append("male" if x[line + 4] == "#TRUE#" else "female")
        n_typed = need_int(line + 5, f"the number of typed loci of {x[line]!r}")
        triples = [
            (need_int(line + 6 + 3 * k, "an allele index"), need_int(line + 7 + 3 * k, "an allele index"),
             need_int(line + 8 + 3 * k, "a locus index"), line + 6 + 3 * k)
            for k in range(n_typed)
        ]  # fmt: skip
        raw_geno.append(triples)
        line += 6 + 3 * n_typed
    if x[line] != "Known relations":
        raise PedigreeError(f"{path.name} line {line + 1}: expected 'Known relations', found {x[line]!r}")
    n_fem, n_mal = need_int(line + 1, "extra females"), need_int(line + 2, "extra males")
    ids = names + [f"extra_female_{k + 1}" for k in range(n_fem)] + [f"extra_male_{k + 1}" for k in range(n_mal)]
    sex = sexes + ["female"] * n_fem + ["male"] * n_mal
    father = [-1] * len(ids)
    mother = [-1] * len(ids)
    n_rel = need_int(line + 3, "the number of known relations")
    rel = line + 4
    for _ in range(n_rel):
        p, c = need_int(rel, "a parent index"), need_int(rel + 1, "a child index")
        (father if sex[p] == "male" else mother)[c] = p
        rel += 2
    n_ped = need_int(rel, "the number of pedigrees")
    line = rel + 1
    pedigrees_raw = []
    for _ in range(n_ped):
        ped_name = x[line + 1]
        f_i, m_i = need_int(line + 2, "extra females"), need_int(line + 3, "extra males")
        ids_i = list(ids) + [f"{ped_name}_extra_female_{k + 1}" for k in range(f_i)] + [f"{ped_name}_extra_male_{k + 1}" for k in range(m_i)]
        sex_i = list(sex) + ["female"] * f_i + ["male"] * m_i
        fa, mo = father + [-1] * (f_i + m_i), mother + [-1] * (f_i + m_i)
        n_rel_i = need_int(line + 4, "the number of relations")
        r = line + 5
        for _ in range(n_rel_i):
            if "Direct" in x[r]:
                raise PedigreeError(f"{path.name} line {r + 1}: twins ('Direct') are not supported")
            p, c = need_int(r, "a parent index"), need_int(r + 1, "a child index")
            (fa if sex_i[p] == "male" else mo)[c] = p
            r += 2
        pedigrees_raw.append((ped_name, ids_i, fa, mo, sex_i))
        line = r
    if x[line].startswith("#TRUE#"):
        raise PedigreeError(f"{path.name} line {line + 1}: precomputed probabilities are not supported")
    m = re.search(r"Theta/Kinship/Fst:\s*([0-9.eE+-]+)", x[line])
    theta = float(m.group(1)) if m else 0.0
    db = line + 1
    n_loci = need_int(db, "the number of loci")
    has_info = x[db + 1] == "#TRUE#"
    db_name = x[db + 2] if has_info else ""
    loc = db + 2 + int(has_info)
    loci: dict[str, FamiliasLocus] = {}
    for _ in range(n_loci):
        name = x[loc]
        rate_f, rate_m = need_float(loc + 1, "the female rate"), need_float(loc + 2, "the male rate")
        code_f, code_m = need_int(loc + 3, "a female model code"), need_int(loc + 4, "a male model code")
        range_f, range_m = need_float(loc + 6, "the female range"), need_float(loc + 7, "the male range")
        r2_f, r2_m = need_float(loc + 8, "the female rate2"), need_float(loc + 9, "the male rate2")
        has_silent = loc + 10 < len(x) and x[loc + 10] == "#TRUE#"
        silent_freq = need_float(loc + 11, f"the silent allele frequency of {name}") if has_silent else None
        n_all = need_int(loc + 12, f"the number of alleles of {name}")
        size = re.search(r"DatabaseSize\s*=\s*(\d+)", x[loc + 12])
        if loc + 13 + 2 * n_all > len(x):
            raise PedigreeError(
                f"{path.name} line {loc + 14}: locus {name} has {n_all} alleles but the file ends after "
                f"{max(0, (len(x) - loc - 13) // 2)} allele/frequency pairs; the frequencies are missing; "
                "fix: save the file again from Familias with its whole database"
            )
        alleles = tuple(x[loc + 13 + 2 * k].strip() for k in range(n_all))
        afreq = np.array([need_float(loc + 14 + 2 * k, f"the frequency of allele {alleles[k]!r} of {name}")
                          for k in range(n_all)])
        if SILENT_ALLELE in {a.lower() for a in alleles}:
            raise PedigreeError(
                f"{path.name}: locus {name} lists an allele named {SILENT_ALLELE!r} among its alleles; "
                "expected the silent allele in the silent-allele lines (#TRUE# and its frequency); fix: "
                "rename the allele, or mark the locus's silent allele in Familias"
            )
        if has_silent:
            alleles += (SILENT_ALLELE,)
            afreq = np.append(afreq, silent_freq)
        models = []
        for code, rate, rng, r2, who in ((code_f, rate_f, range_f, r2_f, "female"), (code_m, rate_m, range_m, r2_m, "male")):
            if code not in _MODEL_CODES:
                raise PedigreeError(
                    f"{path.name}: locus {name} {who} mutation model code {code} (stationary stepwise needs "
                    "pedmut's stabilisation); save the file with model extended stepwise (4) or equal (0)"
                )
            kind = _MODEL_CODES[code] if rate > 0 else "none"
            models.append(MutationModel(kind, rate_male=rate, rate_female=rate, range=rng if 0 < rng < 1 else 0.5, rate2=r2))
        loci[name] = FamiliasLocus(name, alleles, afreq, models[0], models[1], int(size.group(1)) if size else None)
        loc += 13 + 2 * n_all
    locus_names = list(loci)
    genotypes: dict[str, dict[str, tuple[str, str]]] = {}
    for name, triples in zip(names, raw_geno):
        for a1, a2, li, at in triples:
            if not 0 <= li < len(locus_names):
                raise PedigreeError(
                    f"{path.name} line {at + 3}: person {name!r} is typed at locus index {li}, but the "
                    f"database has {len(locus_names)} loci (0 to {len(locus_names) - 1}); the locus's "
                    "frequencies are missing; fix: save the file again from Familias with its whole database"
                )
            lname = locus_names[li]
            al = loci[lname].alleles
            n_observable = len(al) - (al[-1:] == (SILENT_ALLELE,))
            for k, a in ((at, a1), (at + 1, a2)):
                if 0 <= a < n_observable:
                    continue
                if a == n_observable and n_observable < len(al):
                    raise PedigreeError(
                        f"{path.name} line {k + 1}: person {name!r} is typed with the silent allele of "
                        f"locus {lname}; a profile never carries the silent allele; fix: type the "
                        "apparent homozygote as a/a (the silent allele enters the likelihood on request)"
                    )
                raise PedigreeError(
                    f"{path.name} line {k + 1}: person {name!r} is typed with allele index {a} at locus "
                    f"{lname}, but the database gives {lname} {n_observable} alleles (0 to "
                    f"{n_observable - 1}); that allele's frequency is missing; fix: add the allele to the "
                    "locus in Familias and save the file again"
                )
            genotypes.setdefault(name, {})[lname] = (al[a1], al[a2])
    pedigrees = {}
    for ped_name, ids_i, fa, mo, sex_i in pedigrees_raw:
        for c in range(len(ids_i)):  # one parent given: add the other as an untyped founder (as readFam)
            if (fa[c] < 0) != (mo[c] < 0):
                other_sex = "female" if fa[c] >= 0 else "male"
                ids_i.append(f"added_{len(ids_i) + 1}")
                sex_i.append(other_sex)
                fa.append(-1)
                mo.append(-1)
                if other_sex == "female":
                    mo[c] = len(ids_i) - 1
                else:
                    fa[c] = len(ids_i) - 1
        samples = tuple(i if i in genotypes else None for i in ids_i)
        pedigrees[ped_name] = Pedigree(tuple(ids_i), tuple(fa), tuple(mo), tuple(sex_i), samples, -1)
    return FamiliasFile(version, tuple(zip(names, sexes)), genotypes, pedigrees, loci, theta, db_name, "[DVI]" in x)
