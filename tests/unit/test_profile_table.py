"""The columnar profiles (:class:`kinship.genetics.profiles.ProfileTable`) against the dict of
dicts they replace: the same mapping, the same encoded arrays, observed alleles, typed loci
and - byte for byte - the same input hashes, so a stored previous run is not seen as changed.

The ``_old_*`` functions are the code before the table (kept here as the reference)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinship.app import match_run as mr
from kinship.errors import FrequencyTableError, ReuniteInputError
from kinship.genetics.alleles import UNKNOWN_ALLELE
from kinship.genetics.encoding import ALLELE_DTYPE, UNKNOWN, UNTYPED
from kinship.genetics.frequencies import FrequencyTable, effective_table
from kinship.genetics.loci import default_catalogue
from kinship.genetics.profiles import ProfileTable
from kinship.matching.compiler import Family, encode_profiles

CAT = default_catalogue()


# -- the code before ProfileTable (reference) ---------------------------------------------------

def _old_profiles(genotypes: pd.DataFrame) -> dict:
    autosomal = genotypes[[CAT.is_autosomal(l) for l in genotypes["locus"]]]
    profiles: dict = {}
    for row in autosomal.itertuples(index=False):
        profiles.setdefault(row.sample_id, {})[row.locus] = (row.allele_1, row.allele_2)
    return profiles


def _old_candidates(genotypes: pd.DataFrame, profiles: dict) -> tuple:
    roles = genotypes.drop_duplicates("sample_id").set_index("sample_id")["role"]
    return tuple(sorted(s for s, r in roles.items() if r == "candidate" and s in profiles))


def _old_encode(profiles, sample_ids, table, loci):
    out = np.full((len(loci), len(sample_ids), 2), UNTYPED, dtype=ALLELE_DTYPE)
    for li, locus in enumerate(loci):
        lf = table[locus]
        index = {a: k for k, a in enumerate(lf.alleles) if k != lf.silent}
        index[UNKNOWN_ALLELE] = UNKNOWN
        for pi, sample_id in enumerate(sample_ids):
            pair = profiles.get(sample_id, {}).get(locus)
            if pair is None:
                continue
            try:
                a, b = index[pair[0]], index[pair[1]]
            except KeyError:
                raise FrequencyTableError(
                    f"an allele of sample {sample_id} at {locus} is not in table "
                    f"{table.name!r}; build the run's effective table first"
                ) from None
            if a == UNKNOWN:
                raise FrequencyTableError(
                    f"sample {sample_id} at {locus}: a partial genotype's unknown allele '?' must be "
                    "the second allele; correct the profile"
                )
            out[li, pi] = (a, b) if b == UNKNOWN else (min(a, b), max(a, b))
    return out


def _old_observed(profiles):
    observed: dict = {}
    for profile in profiles.values():
        for locus, pair in profile.items():
            observed.setdefault(locus, set()).update(pair)
    return observed


def _old_typed(profiles):
    typed: dict = {}
    for profile in profiles.values():
        for locus in profile:
            typed[locus] = typed.get(locus, 0) + 1
    return typed


def _old_sha256(inputs) -> str:
    payload = {
        "profiles": {s: sorted(p.items()) for s, p in sorted(inputs.profiles.items())},
        "candidates": inputs.candidate_ids,
        "families": [mr._family_record(f) for f in inputs.families],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _old_entity_hashes(inputs) -> pd.DataFrame:
    def digest(obj) -> str:
        return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()

    rows = [("candidate", "", c, digest(sorted(inputs.profiles[c].items()))) for c in inputs.candidate_ids]
    for f in inputs.families:
        if f.pedigree is not None:
            ped = f.pedigree
            rows.append(("family", f.lab, f.family_id, digest({
                "pedigree": {"ids": ped.ids, "father": ped.father, "mother": ped.mother, "sex": ped.sex,
                             "sample_ids": ped.sample_ids, "missing": ped.missing},
                "relationships": f.relationships,
                "profiles": {s: sorted(inputs.profiles[s].items()) for s in ped.references},
                **mr._declared(f),
            })))
            continue
        refs = {"father": f.father, "mother": f.mother}
        rows.append(("family", f.lab, f.family_id, digest({
            **{role: sorted(inputs.profiles[s].items()) if s else None for role, s in refs.items()},
            **mr._declared(f),
        })))
    return pd.DataFrame(rows, columns=["entity", "lab", "entity_id", "sha256"])


# -- random stores ------------------------------------------------------------------------------

#: Autosomal loci, and loci the match run leaves out (sex, Y, quality).
AUTOSOMAL = ["CSF1PO", "D13S317", "D18S51", "D21S11", "FGA", "TH01", "vWA", "Penta E"]
OTHER = ["AMEL", "DYS391"]
ALLELES = ["6", "7", "8", "9", "9.3", "10", "11", "12", "13.2", "17", "22", "30.2", "OL"]


@st.composite
def stores(draw):
    """A genotypes frame (random samples, each typed at its own loci, some partial, some rows
    of other loci, rows in random order, sometimes a duplicated (sample, locus)) with roles."""
    n = draw(st.integers(1, 12))
    ids = draw(st.lists(st.text("ABCRé-_0123456789", min_size=1, max_size=5), min_size=n, max_size=n, unique=True))
    rows = []
    for sid in ids:
        role = draw(st.sampled_from(["reference", "candidate"]))
        loci = draw(st.lists(st.sampled_from(AUTOSOMAL + OTHER), max_size=6, unique=True))
        for locus in loci:
            a, b = sorted(draw(st.lists(st.sampled_from(ALLELES), min_size=2, max_size=2)))
            if draw(st.integers(0, 4)) == 0:
                b = UNKNOWN_ALLELE
            rows.append((sid, role, locus, a, b))
    if rows and draw(st.booleans()):  # the same (sample, locus) twice: the later row wins
        sid, role, locus, _, _ = draw(st.sampled_from(rows))
        rows.append((sid, role, locus, draw(st.sampled_from(ALLELES)), draw(st.sampled_from(ALLELES))))
    order = draw(st.permutations(range(len(rows))))
    frame = pd.DataFrame([rows[k] for k in order], columns=["sample_id", "role", "locus", "allele_1", "allele_2"])
    return frame.astype(str) if draw(st.booleans()) else frame.astype("category")


def _table(observed) -> FrequencyTable:
    """A table of every autosomal locus, some alleles: the effective table adds the rest."""
    base = FrequencyTable.from_mapping("t", {l: {"9": 0.5, "10": 0.5} for l in AUTOSOMAL})
    table, _ = effective_table(base, observed, floor=0.01)
    return table


def _families(ids, rng) -> tuple:
    out = []
    for k in range(0, len(ids) - 1, 2):
        father, mother = ids[k], (ids[k + 1] if rng.random() < 0.7 else None)
        f = Family("L", f"F{k}", father, mother)
        out.append(replace(f, n_missing=2) if rng.random() < 0.3 else f)
    return tuple(out)


SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(stores())
def test_the_table_is_the_old_dict_of_dicts(genotypes):
    old = _old_profiles(genotypes.astype(str))
    new = mr.assemble_inputs(genotypes, pd.DataFrame(columns=["lab", "family_id", "sample_id", "relationship"])).profiles
    assert isinstance(new, ProfileTable)
    assert new == old and dict(new.items()) == old
    assert sorted(old) == list(new) and len(new) == len(old)
    assert all(s in new for s in old) and "nobody" not in new and new.get("nobody") is None
    assert all(type(a) is str for p in new.values() for pair in p.values() for a in pair)
    assert ProfileTable.from_mapping(old) == old
    assert mr.assemble_inputs(genotypes, pd.DataFrame(columns=["lab", "family_id", "sample_id", "relationship"])
                              ).candidate_ids == _old_candidates(genotypes.astype(str), old)


@SETTINGS
@given(stores(), st.randoms(use_true_random=False))
def test_encoded_arrays_alleles_typed_loci_and_hashes_are_unchanged(genotypes, rng):
    old = _old_profiles(genotypes.astype(str))
    new = ProfileTable.from_frame(genotypes[genotypes["locus"].astype(str).isin(AUTOSOMAL)])
    assert new.observed_alleles() == _old_observed(old)
    assert new.typed_counts() == _old_typed(old)
    table = _table(_old_observed(old))
    ids = list(old) + ["absent"]
    rng.shuffle(ids)
    np.testing.assert_array_equal(new.encode(ids, table, AUTOSOMAL), _old_encode(old, ids, table, AUTOSOMAL))
    np.testing.assert_array_equal(encode_profiles(old, ids, table, AUTOSOMAL), _old_encode(old, ids, table, AUTOSOMAL))
    few = [ids[0], ids[-1], ids[0]]  # a few samples (one asked twice): their rows only, when n > 12
    np.testing.assert_array_equal(new.encode(few, table, AUTOSOMAL), _old_encode(old, few, table, AUTOSOMAL))
    sids = sorted(old)
    candidates = tuple(s for s in sids if rng.random() < 0.5)
    inputs = mr.MatchInputs(new, tuple(sids), candidates, _families(sids, rng))
    assert inputs.sha256() == _old_sha256(mr.MatchInputs(old, tuple(sids), candidates, inputs.families))
    pd.testing.assert_frame_equal(mr.entity_hashes(inputs), _old_entity_hashes(inputs))
    assert new.sha256(sids) == [hashlib.sha256(json.dumps(sorted(old[s].items())).encode()).hexdigest() for s in sids]


def test_an_empty_profile_and_an_empty_store():
    t = ProfileTable.from_mapping({"B": {"TH01": ("6", "?")}, "A": {}})
    assert t == {"A": {}, "B": {"TH01": ("6", "?")}} and t.n_rows == 1
    buf, off = t.profile_json(np.array([0, 1, 0]))
    texts = [buf[off[i]:off[i + 1]].tobytes().decode() for i in range(3)]
    assert texts == ["[]", '[["TH01", ["6", "?"]]]', "[]"]
    empty = ProfileTable.from_mapping({})
    assert len(empty) == 0 and empty.typed_counts() == {} and empty.observed_alleles() == {}
    inputs = mr.MatchInputs({}, (), (), ())
    assert inputs.sha256() == _old_sha256(inputs)
    assert mr.MatchInputs({"A": {}}, (), (), ()).sha256() == _old_sha256(mr.MatchInputs({"A": {}}, (), (), ()))
    assert ProfileTable.from_frame(pd.DataFrame(columns=["sample_id", "locus", "allele_1", "allele_2"])) == {}


def test_encode_errors_are_the_old_ones():
    table = FrequencyTable.from_mapping("t", {"TH01": {"6": 0.3, "9.3": 0.7}, "vWA": {"17": 1.0}})
    for profiles in ({"A": {"TH01": ("6", "9.3")}, "B": {"TH01": ("7", "9.3")}},
                     {"A": {"vWA": ("17", "17")}, "B": {"TH01": ("?", "6")}, "C": {"TH01": ("5", "5")}}):
        for ids in (["A", "B", "C"], ["C", "B", "A"]):
            with pytest.raises(FrequencyTableError) as old:
                _old_encode(profiles, ids, table, ["TH01", "vWA"])
            with pytest.raises(FrequencyTableError) as new:
                ProfileTable.from_mapping(profiles).encode(ids, table, ["TH01", "vWA"])
            assert str(new.value) == str(old.value)
            many = {**profiles, **{f"Z{k}": {"vWA": ("17", "17")} for k in range(20)}}  # the few-samples path
            with pytest.raises(FrequencyTableError) as new:
                ProfileTable.from_mapping(many).encode(ids, table, ["TH01", "vWA"])
            assert str(new.value) == str(old.value)


def test_a_null_in_the_genotypes_is_named():
    frame = pd.DataFrame({"sample_id": ["A", None], "locus": ["TH01", "TH01"], "allele_1": ["6", "6"],
                          "allele_2": ["7", "7"]})
    with pytest.raises(ReuniteInputError, match="row 1: sample_id is empty"):
        ProfileTable.from_frame(frame)
    frame.loc[1, "sample_id"], frame.loc[1, "locus"] = "B", "AMEL"
    frame.loc[1, "allele_1"] = None  # a null at a locus left out is not read
    assert ProfileTable.from_frame(frame, loci=["TH01"]) == {"A": {"TH01": ("6", "7")}}


def test_an_ingested_store_gives_the_old_inputs_and_hashes(tmp_path, monkeypatch):
    """Real data: a small national batch (reunite_demo.national) ingested into a store."""
    from kinship.app.ingest import ingest_batch
    from kinship.store import Store
    from reunite_demo.national import national_batch, write_national_batch

    index = write_national_batch(national_batch(40, 50, seed=2, n_labs=3, true_fraction=0.1), tmp_path / "files")
    store = Store(str(tmp_path / "store.sqlite"))
    for code, name in index["labs"].items():
        store.register_lab(code, name)
    for entry in index["batches"]:
        ingest_batch(store, entry["export"], entry["manifest"], lab=entry["lab"], fmt=entry["fmt"])
    genotypes, members = store.load_genotypes(), store.load_family_members()
    import kinship.store.engine as engine

    monkeypatch.setattr(engine, "LOAD_CHUNK_ROWS", 7)  # many chunks, their categories united
    chunked = store.load_genotypes()
    assert chunked["allele_1"].cat.categories.tolist() == genotypes["allele_1"].cat.categories.tolist()
    pd.testing.assert_frame_equal(chunked, genotypes)
    assert len(genotypes) == 20 * genotypes["sample_id"].nunique() and genotypes["sample_id"].is_monotonic_increasing
    inputs = mr.assemble_inputs(genotypes, members, store.load_pedigrees(), families=store.load_families())
    plain = genotypes.astype(str)
    old = _old_profiles(plain)
    assert inputs.profiles == old and inputs.candidate_ids == _old_candidates(plain, old)
    assert len(inputs.candidate_ids) == 50 and len(inputs.families) == 40
    assert inputs.sha256() == _old_sha256(inputs)
    pd.testing.assert_frame_equal(mr.entity_hashes(inputs), _old_entity_hashes(inputs))
    assert any(f.pedigree is not None for f in inputs.families)  # grandparent / sibling families
    table = _table(_old_observed(old))
    assert inputs.profiles.observed_alleles() == _old_observed(old)
    loci = sorted(set(inputs.profiles.typed_counts()) & set(table.loci))
    np.testing.assert_array_equal(encode_profiles(inputs.profiles, inputs.reference_ids, table, loci),
                                  _old_encode(old, inputs.reference_ids, table, loci))
    few = list(inputs.reference_ids[5:8]) + ["absent"]  # a family's references: their rows only
    np.testing.assert_array_equal(inputs.profiles.encode(few, table, loci), _old_encode(old, few, table, loci))


def test_the_y_step_reads_the_stores_categorical_frame_as_it_reads_strings():
    """Store.load_genotypes gives categorical columns now; the Y-STR step (which reads the same
    frame) must give the same columns and provenance as on plain strings."""
    from kinship.app.lineage import y_lineage_columns
    from tests.unit.test_ystr_lineage import _store

    genotypes, sex, inputs = _store()
    matches = pd.DataFrame({"candidate_id": ["C1", "C1", "C2", "C3", "C4", "C1"],
                            "lab": ["L"] * 6, "family_id": ["A", "B", "A", "A", "A", "C"]})
    plain = y_lineage_columns(genotypes.astype(str), sex, inputs, matches, step_ratio=0.0)
    coded = y_lineage_columns(genotypes.astype("category"), sex, inputs, matches, step_ratio=0.0)
    pd.testing.assert_frame_equal(coded[0], plain[0])
    assert coded[1] == plain[1] and coded[2].tolist() == plain[2].tolist()
    assert plain[0]["log10_lr_y"].notna().sum() == 3
