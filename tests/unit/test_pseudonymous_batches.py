"""Issue 9, deliverables 2 and 5 (symptoms 4 and 7): pseudonymous by construction, registered labs
and kits, batches with identity, retraction and erasure. Every store test runs on SQLite and
PostgreSQL (the ``store`` fixture)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

import kinship
from kinship.app import match_run
from kinship.app.ingest import batch_identity, batch_sha256, ingest_batch
from kinship.app.parameters import MatchParameters
from kinship.errors import StoreError
from kinship.genetics.frequencies import table_hash
from kinship.io.frequencies import load_frequency_table
from kinship.io.manifest import parse_manifest
from kinship.store import Store, metadata

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "tests" / "data" / "flows"
INGEST = ROOT / "tests" / "data" / "ingest"

#: A person's name and a mobile number, as a careless lab would type them into an id, kit or lab field.
PII = {
    "absent": "张伟 13800138000",  # an export sample name absent from the manifest
    "bad_id": "王芳 13700137000",  # an invalid manifest id (and the export's name for it)
    "kit": "赵敏 13600136000",  # a free-text kit cell
    "lab": "钱军 13500135000",  # a free-text lab cell
    "vcf": "李娜 13900139000",  # a VCF sample name mapped by export_name
    "vcf_absent": "周杰 13300133000",  # a VCF sample name absent from the manifest
}
FRAGMENTS = [part for text in PII.values() for part in text.split()]


def _export_lines() -> list[str]:
    return (FLOWS / "three_families.txt").read_text().splitlines()


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _every_stored_text(store: Store) -> list[str]:
    """Every value of every text column of every store table."""
    out = []
    with store.engine.connect() as c:
        for table in metadata.sorted_tables:
            cols = [col for col in table.columns if isinstance(col.type, (sa.String, sa.Text))]
            if cols:
                for row in c.execute(sa.select(*cols)):
                    out += [str(v) for v in row if v is not None]
    return out


def test_a_name_and_a_mobile_number_never_reach_a_store_table_verbatim(store, tmp_path):
    lines = _export_lines()
    export = _write(tmp_path / "export.txt", [
        line.replace("C-0004\t", PII["absent"] + "\t").replace("C-0075\t", PII["bad_id"] + "\t") for line in lines])
    manifest = _write(tmp_path / "manifest.csv", [
        "sample_id,role,family_id,relationship,sex,lab,kit",
        *[r for r in (FLOWS / "three_families_manifest.csv").read_text().splitlines()[1:]
          if not r.startswith(("C-0004", "C-0075", "C-0078", "C-0105"))],
        f"{PII['bad_id']},candidate,,,female,DEMO-LAB,GlobalFiler",
        f"C-0078,candidate,,,male,DEMO-LAB,{PII['kit']}",
        f"C-0105,candidate,,,male,{PII['lab']},GlobalFiler",
    ])
    for option in ({"lab": PII["lab"]}, {"lab": "DEMO-LAB", "kit": PII["kit"]}):
        with pytest.raises(StoreError, match=r"not (registered|in the kit catalogue)") as info:
            ingest_batch(store, export, manifest, **option)
        assert not any(f in str(info.value) for f in FRAGMENTS)  # the message does not repeat it either
    s = ingest_batch(store, export, manifest, lab="DEMO-LAB")
    assert s.n_samples_landed == 6 and s.n_landed + s.n_untyped + s.n_quarantined == s.n_rows

    vcf = (INGEST / "hipstr_forensic.vcf").read_text()
    header = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tHS-1\tHS-2\tHS-3"
    assert header in vcf
    vcf_path = tmp_path / "calls.vcf"
    vcf_path.write_text(vcf.replace(header, header.replace("HS-1", PII["vcf"]).replace("HS-2", PII["vcf_absent"])))
    vcf_manifest = _write(tmp_path / "vcf_manifest.csv", [
        "sample_id,export_name,role,family_id,relationship,sex",
        f"HS-1,{PII['vcf']},reference,F-SEQ,father,male",
        "HS-3,,candidate,,,",
    ])
    v = ingest_batch(store, vcf_path, vcf_manifest, lab="SEQ", fmt="vcf", min_autosomal_loci=2)
    assert sorted(store.load_genotypes().query("sample_id == 'HS-1'")["locus"]) == ["D22S1045", "TH01"]
    assert v.n_landed == 2 and v.n_quarantined == 2  # HS-1 lands as its sample id; the unlisted name is quarantined

    stored = _every_stored_text(store)
    assert not [t for t in stored if any(f in t for f in FRAGMENTS)]
    q = store.quarantine_records()
    for raw, kinds in ((PII["absent"], {"not_in_manifest"}), (PII["bad_id"], {"manifest_error", "manifest_row"}),
                       (PII["vcf_absent"], {"not_in_manifest"})):
        token = store.pseudonym(raw)
        assert token.startswith("h:") and len(token) == 18
        rows = q[q["sample_id"] == token]
        assert set(rows["kind"]) == kinds and rows["line"].notna().all() and len(rows) > 0
    manifest_rows = q[q["source"] == "manifest"]
    assert store.pseudonym(PII["kit"]) in set(manifest_rows["value"])
    assert store.pseudonym(PII["lab"]) in set(manifest_rows["value"])
    # the summary the caller gets carries the same stand-ins
    assert not any(f in str(r) for r in (*s.quarantine, *s.manifest_errors, *s.warnings) for f in FRAGMENTS)


def test_the_pseudonym_is_keyed_by_the_store_secret(backend, tmp_path):
    target, schema = backend
    with Store(target, schema=schema) as one, Store(tmp_path / "other.sqlite") as other:
        assert one.pseudonym("x y") == one.pseudonym("x y") != other.pseudonym("x y")
        listed = [*one.labs().columns, *one.kits().columns, *one.list_batches().columns]
        assert "value" not in listed and "secret" not in listed


def test_an_unknown_lab_or_kit_is_refused_naming_the_registered_ones(store):
    export, manifest = FLOWS / "three_families.txt", FLOWS / "three_families_manifest.csv"
    with pytest.raises(StoreError, match=r"^lab 'NOPE' is not registered; expected one of \['1KG', .*'DEMO-LAB'.*\]; "
                                         r"fix: .*scripts/flow labs register CODE --name NAME"):
        ingest_batch(store, export, manifest, lab="NOPE")
    with pytest.raises(StoreError, match=r"^kit 'Goldeneye 20A' is not in the kit catalogue; expected one of "
                                         r"\[.*'GlobalFiler'.*\]; fix: .*scripts/flow kits register NAME"):
        ingest_batch(store, export, manifest, lab="DEMO-LAB", kit="Goldeneye 20A")
    assert store.load_ingested_files().empty


def test_a_manifest_lab_or_kit_outside_the_catalogues_is_a_row_error():
    csv = (b"sample_id,role,family_id,relationship,sex,lab,kit\n"
           b"C1,candidate,,,,XLAB,\nC2,candidate,,,,,NoSuchKit\nC3,candidate,,,,,globalfiler\n")
    m = parse_manifest(csv, file="m.csv", lab="L", labs=["L"], kits=["GlobalFiler"])
    assert [(e.sample_id, e.column) for e in m.errors] == [("C1", "lab"), ("C2", "kit")]
    assert "scripts/flow labs register" in m.errors[0].fix and "scripts/flow kits register" in m.errors[1].fix
    assert m.entries[["sample_id", "kit"]].values.tolist() == [["C3", "GlobalFiler"]]  # the catalogue's spelling


def test_a_chinese_display_name_registers_and_a_chinese_kit_is_registered_by_loci(store, tmp_path):
    row = store.register_lab("GD-PSB", "广东省公安厅刑事技术中心")
    assert store.register_lab("GD-PSB", "广东省公安厅刑事技术中心") == row  # idempotent
    assert store.labs().set_index("code").loc["GD-PSB", "name"] == "广东省公安厅刑事技术中心"
    with pytest.raises(StoreError, match=r"lab 'GD-PSB' is registered already, under another display name"):
        store.register_lab("GD-PSB", "another")
    with pytest.raises(StoreError, match=r"^lab code \(a value of 3 characters .*\) is not a lab code"):
        store.register_lab("广东省", "x")
    loci = sorted({line.split("\t")[1] for line in _export_lines()[1:]})
    store.register_kit("Goldeneye 20A", loci)
    assert store.register_kit("goldeneye  20a", loci)["name"] == "Goldeneye 20A"
    with pytest.raises(StoreError, match=r"kit 'GlobalFiler' is the bundled kit"):
        store.register_kit("GlobalFiler", loci)
    with pytest.raises(StoreError, match=r"kit 'Goldeneye 20A' is registered already with loci"):
        store.register_kit("Goldeneye 20A", loci[:3])
    kits = store.kits().set_index("name")
    assert kits.loc["Goldeneye 20A", "source"] == "registered" and kits.loc["GlobalFiler", "source"] == "bundled"
    manifest = _write(tmp_path / "m.csv", ["sample_id,role,family_id,relationship,sex",
                                           *[",".join(r.split(",")[:5]) for r in
                                             (FLOWS / "three_families_manifest.csv").read_text().splitlines()[1:]]])
    s = ingest_batch(store, FLOWS / "three_families.txt", manifest, lab="GD-PSB", kit="goldeneye 20a")
    assert s.n_samples_landed == 10
    assert set(store.load_samples()["kit"]) == {"Goldeneye 20A"} and set(store.load_samples()["lab"]) == {"GD-PSB"}


def test_the_batch_key_changes_with_lab_format_kit_and_options(store):
    base = dict(lab="L", fmt="genemapper", kit=None, reader_options=None, min_autosomal_loci=12,
                mixture_min_loci=2, duplicate_min_loci=10)
    key = batch_sha256(b"export", b"manifest", batch_identity(**base))
    for change in ({"lab": "L1"}, {"fmt": "tidy"}, {"kit": "GlobalFiler"}, {"reader_options": {"caller": "hipstr"}},
                   {"min_autosomal_loci": 10}, {"mixture_min_loci": 3}, {"duplicate_min_loci": 8}):
        assert batch_sha256(b"export", b"manifest", batch_identity(**{**base, **change})) != key, change
    assert batch_sha256(b"export", b"manifest", batch_identity(**base)) == key
    export, manifest = FLOWS / "three_families.txt", FLOWS / "three_families_manifest.csv"
    first = ingest_batch(store, export, manifest, lab="DEMO-LAB")
    assert ingest_batch(store, export, manifest, lab="DEMO-LAB").already_ingested
    for other in ({"lab": "L"}, {"kit": "GlobalFiler"}, {"min_autosomal_loci": 10}):
        again = ingest_batch(store, export, manifest, **{"lab": "DEMO-LAB", **other})
        assert not again.already_ingested and again.file_sha256 != first.file_sha256, other


def _split_batches(tmp_path: Path) -> tuple[tuple[Path, Path], tuple[Path, Path]]:
    """three_families as two batches: everyone but C-0105, and C-0105 alone (manifest without a lab)."""
    lines = _export_lines()
    rows = (FLOWS / "three_families_manifest.csv").read_text().splitlines()
    main = (_write(tmp_path / "main.txt", [l for l in lines if not l.startswith("C-0105\t")]),
            _write(tmp_path / "main.csv", [r for r in rows if not r.startswith("C-0105,")]))
    late = (_write(tmp_path / "late.txt", [lines[0], *[l for l in lines if l.startswith("C-0105\t")]]),
            _write(tmp_path / "late.csv", ["sample_id,role,family_id,relationship,sex", "C-0105,candidate,,,male"]))
    return main, late


def _plan(store: Store, previous_inputs: pd.DataFrame | None):
    params = MatchParameters()
    inputs = match_run.assemble_inputs(store.load_genotypes(), store.load_family_members(), store.load_pedigrees())
    table, _ = match_run.effective_frequencies(inputs, load_frequency_table(params.table_id), floor=params.frequency_floor)
    run = match_run.encode_run(inputs, table, params.mutation_model, theta=params.theta)
    previous = {"code_version": kinship.code_version(), "freq_table_hash": table_hash(run.table),
                "parameters": match_run._json_roundtrip(params.as_dict())}
    empty = pd.DataFrame(columns=["lab", "family_id", "candidate_id", "log10_lr", "n_loci_compared",
                                  "n_inconsistent", "family_kind", "rank_for_candidate", "rank_for_family",
                                  "posterior", "conclusion", "flag"])
    plan = match_run.plan_run(run, params, previous=previous if previous_inputs is not None else None,
                              previous_inputs=previous_inputs, previous_matches=empty)
    return inputs, plan


def test_retraction_takes_the_samples_out_of_the_next_run_and_forces_a_full_rematch(store, tmp_path):
    (export, manifest), (late_export, late_manifest) = _split_batches(tmp_path)
    ingest_batch(store, export, manifest, lab="DEMO-LAB")
    wrong = ingest_batch(store, late_export, late_manifest, lab="L")  # the lab mistyped
    before, _ = _plan(store, None)
    assert "C-0105" in before.candidate_ids
    hashes = match_run.entity_hashes(before)
    _, unchanged = _plan(store, hashes)
    assert unchanged.kind == "incremental"  # nothing changed: the control

    row = store.retract_batch(wrong.file_id, by="OP-7", why="mistyped_lab", ref="REQ-7")
    assert (row["n_genotypes_removed"], row["n_samples_removed"]) == (19, 1)
    after, plan = _plan(store, hashes)
    assert "C-0105" not in after.candidate_ids and "C-0105" not in set(store.load_samples()["sample_id"])
    assert plan.kind == "full" and "1 compared profiles removed" in plan.reason
    batches = store.list_batches().set_index("file_id")
    assert batches.loc[wrong.file_id, "status"] == "retracted" and batches.loc[wrong.file_id, "retracted_by"] == "OP-7"
    with pytest.raises(StoreError, match=r"was retracted at .* by 'OP-7'; expected a corrected batch"):
        ingest_batch(store, late_export, late_manifest, lab="L")
    with pytest.raises(StoreError, match=r"the batch was retracted already"):
        store.retract_batch(wrong.file_id, by="OP-7", why="mistyped_lab")
    fixed = ingest_batch(store, late_export, late_manifest, lab="DEMO-LAB")  # re-ingested under the right lab
    assert fixed.n_samples_landed == 1 and fixed.n_genotypes_added == 19
    assert store.load_samples().set_index("sample_id").loc["C-0105", "lab"] == "DEMO-LAB"
    with store.engine.connect() as c:
        n_keys = c.execute(sa.text("select count(*) from profile_keys where sample_id = 'C-0105'")).scalar_one()
    assert n_keys > 0


def test_erasure_deletes_the_genotypes_and_keeps_only_the_audit_row(store):
    export, manifest = FLOWS / "three_families.txt", FLOWS / "three_families_manifest.csv"
    ingest_batch(store, export, manifest, lab="DEMO-LAB")
    out = store.erase_sample("R-0017", by="OP-7", why="consent_withdrawn", ref="REQ-2026-118")
    assert out["n_genotypes_removed"] == 19
    with store.engine.connect() as c:
        for table in ("genotypes", "samples", "family_members", "profile_keys", "quarantine", "warnings"):
            n = c.execute(sa.text(f"select count(*) from {table} where sample_id = 'R-0017'")).scalar_one()
            assert n == 0, table
        audit = [dict(r) for r in c.execute(sa.text("select * from sample_erasures")).mappings()]
    assert len(audit) == 1 and set(audit[0]) == {"sample_id", "erased_at", "operator", "reason"}
    assert (audit[0]["sample_id"], audit[0]["operator"], audit[0]["reason"]) == ("R-0017", "OP-7",
                                                                                  "consent_withdrawn ref=REQ-2026-118")
    assert "R-0017" not in set(store.load_genotypes()["sample_id"])
    with pytest.raises(StoreError, match=r"the sample was erased already"):
        store.erase_sample("R-0017", by="OP-7", why="consent_withdrawn")
    with pytest.raises(StoreError, match=r"no such sample in the store"):
        store.erase_sample("R-9999", by="OP-7", why="other")
    with pytest.raises(StoreError, match=r"operator .* is not an operator id"):
        store.erase_sample("R-0072", by="张伟", why="other")
    again = ingest_batch(store, export, manifest, lab="DEMO-LAB", kit="GlobalFiler")  # a new batch sends it again
    assert {q.kind for q in again.quarantine if q.sample_id == "R-0017"} == {"erased"}
    assert "R-0017" not in set(store.load_genotypes()["sample_id"])


def test_the_cli_registers_lists_retracts_and_erases(tmp_path, capsys):
    from flows.catalogue import main

    target = str(tmp_path / "cli.sqlite")
    assert main(["labs", "register", "BJ-PSB", "--name", "北京市公安局物证鉴定中心", "--store", target]) == 0
    assert main(["labs", "list", "--store", target]) == 0
    assert "北京市公安局物证鉴定中心" in capsys.readouterr().out
    assert main(["kits", "register", "AGCU EX22", "--loci", "D3S1358,vWA", "FGA", "--store", target]) == 0
    assert main(["kits", "list", "--store", target]) == 0
    assert "AGCU EX22" in capsys.readouterr().out
    with Store(target) as store:
        s = ingest_batch(store, FLOWS / "three_families.txt", FLOWS / "three_families_manifest.csv", lab="BJ-PSB")
    assert s.n_quarantined > 0  # the manifest names DEMO-LAB, which is not registered here: row errors
    assert main(["batches", "list", "--store", target]) == 0
    assert "active" in capsys.readouterr().out
    assert main(["batches", "retract", str(s.file_id), "--by", "OP-1", "--why", "mistyped_lab", "--store", target]) == 0
    assert main(["samples", "erase", "C-0001", "--by", "OP-1", "--why", "consent_withdrawn", "--store", target]) == 2
    assert "no such sample" in capsys.readouterr().err


def test_a_store_at_layout_4_migrates_registering_its_labs_and_hiding_bad_ids(tmp_path):
    from alembic import command

    from kinship.store import alembic_config

    path = tmp_path / "old.sqlite"
    with Store(path) as store:
        store.register_lab("OUS", "Oslo")
        ingest_batch(store, INGEST / "set3.txt", INGEST / "set3_manifest.csv", lab="OUS", kit="ESX17")
        config = alembic_config()
        with store.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0004")
            conn.execute(sa.text("update samples set lab = :l, kit = 'Huaxia Platinum'"), {"l": PII["lab"]})
            conn.execute(sa.text("update ingested_files set lab = :l"), {"l": PII["lab"]})
            conn.execute(sa.text("update family_members set lab = :l"), {"l": PII["lab"]})
            conn.execute(sa.text("update quarantine set sample_id = :s, value = :s, reason = :r where id = 1"),
                         {"s": PII["absent"], "r": f"sample {PII['absent']!r} is not in the manifest"})
    with Store(path) as store:  # opening migrates to the head
        assert store.lab_codes() == [store.pseudonym(PII["lab"])]
        assert "Huaxia Platinum" in store.kit_names()
        assert not [t for t in _every_stored_text(store) if any(f in t for f in FRAGMENTS)]
        assert store.quarantine_records().iloc[0]["sample_id"] == store.pseudonym(PII["absent"])


def test_the_reason_is_a_code_and_the_reference_an_id_never_free_text(store, tmp_path, capsys):
    from flows.catalogue import main
    from kinship.store.batches import REASON_CODES

    assert {"consent_withdrawn", "mistyped_lab", "wrong_file", "duplicate_submission", "lab_request",
            "court_order", "other"} == set(REASON_CODES)
    ingest_batch(store, FLOWS / "three_families.txt", FLOWS / "three_families_manifest.csv", lab="DEMO-LAB")
    free = f"{PII['absent']} 要求删除"
    with pytest.raises(StoreError, match=r"^erasure of sample 'R-0017': the reason \(a value of \d+ characters .*\) is "
                                         r"not a reason code; expected one of \['consent_withdrawn', .*\]; fix: .*--why") as info:
        store.erase_sample("R-0017", by="OP-7", why=free)
    with pytest.raises(StoreError, match=r"the reference .* is not a ticket or case id; expected ASCII") as info_ref:
        store.erase_sample("R-0017", by="OP-7", why="consent_withdrawn", ref=PII["absent"])
    with pytest.raises(StoreError, match=r"^retraction of batch 1: the reason .* is not a reason code"):
        store.retract_batch(1, by="OP-7", why="lab code mistyped")
    for message in (str(info.value), str(info_ref.value)):
        assert "\n" not in message and not any(f in message for f in FRAGMENTS)
    assert store.erase_sample("R-0017", by="OP-7", why="court_order")["reason"] == "court_order"
    assert store.retract_batch(1, by="OP-7", why="wrong_file", ref="T-12")["reason"] == "wrong_file ref=T-12"
    assert not [t for t in _every_stored_text(store) if any(f in t for f in FRAGMENTS) or "要求" in t]

    target = str(tmp_path / "cli.sqlite")  # the command line refuses free text before the store sees it
    with pytest.raises(SystemExit) as exit_:
        main(["samples", "erase", "C-0001", "--by", "OP-1", "--why", free, "--store", target])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "is not a reason code" in err and "consent_withdrawn" in err
    assert not any(f in err for f in FRAGMENTS)
    assert main(["samples", "erase", "C-0001", "--by", "OP-1", "--why", "other", "--ref", "张伟", "--store", target]) == 2
    err = capsys.readouterr().err
    assert "is not a ticket or case id" in err and "张伟" not in err


def test_erasure_deletes_the_match_results_and_lists_the_run_folders_that_show_the_sample(store, tmp_path, capsys):
    from datetime import datetime, timezone

    ingest_batch(store, FLOWS / "three_families.txt", FLOWS / "three_families_manifest.csv", lab="DEMO-LAB")
    for run_id in ("run-1", "run-2", "run-3"):
        store.record_match_run({"run_id": run_id, "started_at": datetime(2026, 3, 1, 12, tzinfo=timezone.utc),
                                "kind": "full", "parameters": {}, "freq_table_name": "t",
                                "freq_table_hash": "0" * 64, "code_version": "test"})
    pairs = [("F-012", "C-0001"), ("F-012", "C-0003"), ("F-005", "C-0001"), ("F-005", "C-0003")]
    for run_id in ("run-1", "run-2"):
        store.write_matches(run_id, pd.DataFrame({
            "lab": "DEMO-LAB", "family_id": [f for f, _ in pairs], "candidate_id": [c for _, c in pairs],
            "log10_lr": 1.0, "n_loci_compared": 18, "n_inconsistent": 0, "rank_for_candidate": 1,
            "rank_for_family": 1, "posterior": 0.5, "conclusion": "inconclusive", "flag": False}))
        store.record_run_inputs(run_id, pd.DataFrame({
            "entity": ["candidate", "candidate", "family", "family"], "lab": ["", "", "DEMO-LAB", "DEMO-LAB"],
            "entity_id": ["C-0001", "C-0003", "F-012", "F-005"], "sha256": "a" * 64}))
    out = tmp_path / "out"
    for run_id in ("run-1", "run-3"):  # run-2's folder is elsewhere; run-3 never compared C-0001
        (out / run_id).mkdir(parents=True)

    row = store.erase_sample("C-0001", by="OP-7", why="consent_withdrawn", out_dir=out)
    assert row["n_matches_removed"] == 4 and row["run_ids"] == ["run-1", "run-2"]
    assert row["run_folders"] == [str(out / "run-1")]
    for run_id in ("run-1", "run-2"):
        assert "C-0001" not in set(store.load_matches(run_id)["candidate_id"])
        assert set(store.load_matches(run_id)["candidate_id"]) == {"C-0003"}
        assert "C-0001" not in set(store.load_run_inputs(run_id)["entity_id"])
    with store.engine.connect() as c:
        assert c.execute(sa.text("select count(*) from matches where candidate_id = 'C-0001'")).scalar_one() == 0
    # a reference: the runs that scored its family are listed (the family's rows stay: other references)
    assert store.erase_sample("R-0017", by="OP-7", why="consent_withdrawn", out_dir=out)["run_ids"] == ["run-1", "run-2"]


def test_the_erase_command_prints_the_run_folders_and_says_backups_are_not_rewritten(tmp_path, capsys):
    from datetime import datetime, timezone

    from flows.catalogue import main
    from tests.labs import register_test_labs

    target = str(tmp_path / "cli.sqlite")
    with Store(target) as store:
        register_test_labs(store)
        ingest_batch(store, FLOWS / "three_families.txt", FLOWS / "three_families_manifest.csv", lab="DEMO-LAB")
        store.record_match_run({"run_id": "run-1", "started_at": datetime(2026, 3, 1, 12, tzinfo=timezone.utc),
                                "kind": "full", "parameters": {}, "freq_table_name": "t",
                                "freq_table_hash": "0" * 64, "code_version": "test"})
        store.record_run_inputs("run-1", pd.DataFrame({"entity": ["candidate"], "lab": [""],
                                                       "entity_id": ["C-0001"], "sha256": ["a" * 64]}))
    (tmp_path / "out" / "run-1").mkdir(parents=True)
    assert main(["samples", "erase", "C-0001", "--by", "OP-1", "--why", "consent_withdrawn", "--ref", "REQ-1",
                 "--out-dir", str(tmp_path / "out"), "--store", target]) == 0
    said = capsys.readouterr().out
    assert str(tmp_path / "out" / "run-1") in said and "delete them" in said
    assert "backups are not rewritten" in said


def test_a_manifest_kit_cell_shaped_like_a_kit_name_is_shown_a_free_text_one_hashed(store, tmp_path):
    from kinship.app.ingest.pseudonyms import unstorable_ids

    csv = (f"sample_id,role,family_id,relationship,sex,lab,kit\nC1,candidate,,,,,Goldeneye 20A\n"
           f"C2,candidate,,,,,{PII['kit']}\nC3,candidate,,,,,Zhang Wei 13800138000\n").encode()
    m = parse_manifest(csv, file="m.csv", lab="L", labs=["L"], kits=["GlobalFiler"])
    assert [(e.sample_id, e.column) for e in m.errors] == [("C1", "kit"), ("C2", "kit"), ("C3", "kit")]
    hidden = unstorable_ids(pd.DataFrame({"sample_id": ["C1"]}), m)
    assert "Goldeneye 20A" not in hidden and {PII["kit"], "Zhang Wei 13800138000"} <= hidden

    manifest = _write(tmp_path / "manifest.csv", [
        r.replace(",DEMO-LAB,GlobalFiler", ",DEMO-LAB,Goldeneye 20A") if r.startswith("C-0078,") else r
        for r in (FLOWS / "three_families_manifest.csv").read_text().splitlines()])
    s = ingest_batch(store, FLOWS / "three_families.txt", manifest, lab="DEMO-LAB")
    kit_errors = [e for e in s.manifest_errors if e.sample_id == "C-0078"]
    assert kit_errors and kit_errors[0].value == "Goldeneye 20A" and "'Goldeneye 20A'" in kit_errors[0].reason
    assert "Goldeneye 20A" in set(store.quarantine_records()["value"])


def test_a_changed_and_a_removed_entity_are_counted_in_the_full_runs_reason(store, tmp_path):
    (export, manifest), _ = _split_batches(tmp_path)
    ingest_batch(store, export, manifest, lab="DEMO-LAB")
    inputs, _ = _plan(store, None)
    hashes = match_run.entity_hashes(inputs)
    before = hashes.copy()
    before.loc[[0, 2], "sha256"] = "0" * 64  # two entities whose profiles changed since
    before = pd.concat([before, before.iloc[[1]].assign(entity_id="GONE-1")], ignore_index=True)  # one removed
    _, plan = _plan(store, before)
    assert plan.kind == "full" and plan.reason == "1 compared profiles removed and 2 changed since the last run"
    _, plan = _plan(store, hashes)
    assert plan.kind == "incremental"
