"""The reindex pipeline: incremental updates, the cache, a no-op reindex, odd and bad files."""

from __future__ import annotations

import json
import os
import shutil
import unicodedata

import pytest

from index import build as build_module
from index import store
from index.build import build_index
from index.store import current_build, load_index
from tests.conftest import SEED, FakeEncoder, write_doc
from tests.index.builds import (
    SUMMER,
    build,
    build_folders,
    chunk_texts,
    file_hashes,
    found_documents,
    indexed_hashes,
    make_engine,
    many_documents,
)


def test_rebuild_without_changes_keeps_the_live_build_and_embeds_nothing(
    knowledge, index_dir, fake_encoder, built
):
    folders = build_folders(index_dir)

    summary = build(knowledge, index_dir, fake_encoder)

    assert summary.changed is False
    assert (summary.embedded, summary.reused) == (0, built.chunks)
    assert (summary.added, summary.updated, summary.removed) == ([], [], [])
    assert summary.build == built.build == current_build(index_dir).name
    assert build_folders(index_dir) == folders
    assert fake_encoder.calls == []


def test_changing_one_document_re_embeds_only_its_changed_chunks(
    knowledge, index_dir, fake_encoder, built
):
    seed = knowledge / SEED.name
    old_texts = set(chunk_texts(index_dir, SEED.name))
    # One sentence in the middle of the first chunk: the other chunks stay as they were.
    seed.write_text(
        seed.read_text(encoding="utf-8").replace("fokus på tillväxt", "fokus på bostäder"),
        encoding="utf-8",
    )

    summary = build(knowledge, index_dir, fake_encoder)

    new_texts = chunk_texts(index_dir, SEED.name)
    changed = [t for t in new_texts if t not in old_texts]
    assert 1 <= len(changed) < len(new_texts)
    assert summary.updated == [SEED.name]
    assert (summary.added, summary.removed) == ([], [])
    assert summary.embedded == len(changed)
    # One pool: the changed passages with the sentences that were not seen before.
    assert len(fake_encoder.calls) == 1 and fake_encoder.calls[0] > len(changed)
    assert summary.reused == summary.chunks - len(changed)
    assert indexed_hashes(index_dir) == file_hashes(knowledge)


def test_removed_document_disappears_from_documents_and_search(
    knowledge, index_dir, fake_encoder, built
):
    question = "Sommarskolan i Borlänge hålls i juli"
    assert SUMMER in found_documents(index_dir, fake_encoder, question)

    (knowledge / SUMMER).unlink()
    summary = build(knowledge, index_dir, fake_encoder)

    assert summary.removed == [SUMMER]
    assert summary.embedded == 0
    index = load_index(index_dir, fake_encoder)
    assert SUMMER not in index.documents
    assert SUMMER not in index.chunk_doc_ids
    assert SUMMER not in found_documents(index_dir, fake_encoder, question)


def test_added_document_is_indexed_and_only_it_is_embedded(
    knowledge, index_dir, fake_encoder, built
):
    write_doc(
        knowledge,
        "nytt/studiebesok.md",
        "# Studiebesök\n\nNätverket besöker Lindesberg i oktober för att se på bostadsbyggandet.\n",
        title="Studiebesök i Lindesberg",
        visibility="public",
    )

    summary = build(knowledge, index_dir, fake_encoder)

    assert summary.added == ["nytt/studiebesok.md"]
    assert (summary.updated, summary.removed) == ([], [])
    assert summary.embedded == len(chunk_texts(index_dir, "nytt/studiebesok.md")) == 1
    assert fake_encoder.calls == [2]  # its passage and its sentence, in one model call
    assert load_index(index_dir).documents["nytt/studiebesok.md"].visibility == "public"
    assert found_documents(index_dir, fake_encoder, "studiebesök bostadsbyggandet")[0] == (
        "nytt/studiebesok.md"
    )


def test_embedding_cache_is_keyed_by_model_so_switching_back_embeds_nothing(
    knowledge, index_dir, fake_encoder, built
):
    build(knowledge, index_dir, FakeEncoder(model_id="other"))

    summary = build(knowledge, index_dir, fake_encoder)

    assert summary.changed is True
    assert (summary.embedded, summary.reused) == (0, built.chunks)
    assert fake_encoder.calls == []
    load_index(index_dir, fake_encoder)


NFC = unicodedata.normalize("NFC", "Årsmöte på Älvö.md")


NFD = unicodedata.normalize("NFD", "Årsmöte på Älvö.md")


@pytest.mark.parametrize(
    ("name", "outcome"),
    [
        ("möte med kommunerna.md", "möte med kommunerna.md"),
        (NFC, NFC),
        (NFD, NFC),
        ("-rf --help.md", "-rf --help.md"),
        ("x" * 240 + ".md", "x" * 240 + ".md"),
        ("ö" * 120 + ".md", "ö" * 120 + ".md"),
        ("con/aux.md", "con/aux.md"),
        ("rad\nbrytning.md", "rad\nbrytning.md"),
        ("semi;colon 'q' \"dq\" $(x) `y`.md", "semi;colon 'q' \"dq\" $(x) `y`.md"),
        ("con/nul", "skipped"),  # no extension
        ("..weird.md", "ignored"),  # hidden
        ("...md", "ignored"),  # hidden
        (".git/config.md", "ignored"),  # hidden folder
        ("~$möte.docx", "ignored"),  # Word's owner file
        ("anteckning.md~", "ignored"),  # editor backup
    ],
    ids=[
        "spaces", "nfc", "nfd", "leading-dash", "long-ascii", "long-unicode", "con-folder",
        "newline", "shell-chars", "con-no-extension", "dot-dot", "dots-only", "hidden-folder",
        "office-owner", "editor-backup",
    ],
)  # fmt: skip
def test_hostile_file_names_are_indexed_or_left_out_cleanly(
    tmp_path, index_dir, fake_encoder, name, outcome
):
    knowledge = tmp_path / "knowledge"
    write_doc(knowledge, "vanlig.md", "# Vanlig\n\nEtt vanligt dokument om skolan.\n")
    write_doc(knowledge, name, "# Udda\n\nKodordet för det udda dokumentet är Snödroppe.\n")

    summary = build(knowledge, index_dir, fake_encoder)

    documents = sorted(load_index(index_dir, fake_encoder).documents)
    skipped = [s.path for s in summary.skipped]
    if outcome == "ignored":
        assert (documents, skipped) == (["vanlig.md"], [])
    elif outcome == "skipped":
        assert (documents, skipped) == (["vanlig.md"], [name])
    else:
        assert (documents, skipped) == (sorted(["vanlig.md", outcome]), [])
        assert found_documents(index_dir, fake_encoder, "kodordet Snödroppe")[0] == outcome
    # The id of a hostile name is stable: the next build finds nothing changed.
    assert build(knowledge, index_dir, fake_encoder).changed is False


def test_two_names_differing_only_in_unicode_normalisation_keep_one_and_report_the_other(
    tmp_path, index_dir, fake_encoder
):
    knowledge = tmp_path / "knowledge"
    write_doc(knowledge, NFC, "# Ett\n\nDet första dokumentet om årsmötet.\n")
    write_doc(knowledge, NFD, "# Två\n\nDet andra dokumentet om årsmötet.\n")
    if len(list(knowledge.iterdir())) < 2:
        pytest.skip("this file system normalises file names")

    summary = build(knowledge, index_dir, fake_encoder)

    assert list(load_index(index_dir, fake_encoder).documents) == [NFC]
    assert [s.path for s in summary.skipped] == [NFC]
    assert "same name" in summary.skipped[0].reason


def test_file_name_that_is_not_utf8_is_skipped_with_a_reason(tmp_path, index_dir, fake_encoder):
    knowledge = tmp_path / "knowledge"
    write_doc(knowledge, "vanlig.md", "# Vanlig\n\nEtt vanligt dokument om skolan.\n")
    (knowledge / os.fsdecode(b"m\xf6te.md")).write_bytes(b"# M\xc3\xb6te\n\nOm m\xc3\xb6tet.\n")

    summary = build(knowledge, index_dir, fake_encoder)

    assert list(load_index(index_dir, fake_encoder).documents) == ["vanlig.md"]
    assert [(s.path, "UTF-8" in s.reason) for s in summary.skipped] == [("m\ufffdte.md", True)]
    assert load_index(index_dir).manifest["skipped"][0]["path"] == "m\ufffdte.md"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("trasig.pdf", bytes.fromhex("89504e470d0a1a0a") + bytes(200), "not a valid PDF"),
        ("binär.txt", b"abc\x00\x01\x02" * 50, "binary content"),
        ("tom.md", b"   \n\n", "empty document"),
        ("rapport.docx", b"PK\x03\x04 not really a zip", "not a valid Word document"),
        ("kalkyl.xlsx", b"PK\x03\x04", "unsupported file type '.xlsx'"),
        ("trasig-front.md", b"---\ntitle: [oavslutad\n---\nText.\n", ""),
    ],
)
def test_corrupt_file_is_skipped_with_a_reason_and_good_documents_are_indexed(
    knowledge, index_dir, fake_encoder, name, content, reason
):
    (knowledge / "intern" / name).write_bytes(content)

    summary = build(knowledge, index_dir, fake_encoder)

    skipped = {s.path: s.reason for s in summary.skipped}
    assert list(skipped) == [f"intern/{name}"]
    assert reason in skipped[f"intern/{name}"] and skipped[f"intern/{name}"].strip()
    index = load_index(index_dir, fake_encoder)
    assert sorted(index.documents) == sorted([SEED.name, "intern/budget.md", SUMMER])
    assert index.manifest["skipped"] == [
        {"path": f"intern/{name}", "reason": skipped[f"intern/{name}"]}
    ]


def test_reindex_with_nothing_changed_reads_only_the_manifest(tmp_path, knowledge, monkeypatch):
    encoder = FakeEncoder()
    engine = make_engine(knowledge, tmp_path / "index", encoder)
    build = current_build(tmp_path / "index")
    monkeypatch.setattr(store, "Index", lambda *a, **k: pytest.fail("loaded the old build"))
    monkeypatch.setattr(build_module, "previous_chunks", lambda *a: pytest.fail("read old chunks"))

    summary = build_index(knowledge, tmp_path / "index", encoder, engine.build_settings())

    assert summary.changed is False
    assert current_build(tmp_path / "index") == build


@pytest.mark.parametrize("damage", ["truncate", "remove"])
def test_a_damaged_build_is_rebuilt_even_when_no_document_changed(tmp_path, knowledge, damage):
    encoder = FakeEncoder()
    engine = make_engine(knowledge, tmp_path / "index", encoder)
    victim = engine.index.folder / "chars.data.npy"
    if damage == "truncate":
        victim.write_bytes(victim.read_bytes()[:-8])
    else:
        victim.unlink()

    summary = build_index(knowledge, tmp_path / "index", encoder, engine.build_settings())

    assert summary.changed is True
    assert summary.embedded == 0  # vectors from the cache
    load_index(tmp_path / "index", encoder).close()


def test_an_older_build_without_file_sizes_is_checked_by_loading_it(tmp_path, knowledge):
    encoder = FakeEncoder()
    engine = make_engine(knowledge, tmp_path / "index", encoder)
    manifest_path = engine.index.folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["files"]
    manifest_path.write_text(json.dumps(manifest))

    summary = build_index(knowledge, tmp_path / "index", encoder, engine.build_settings())
    assert summary.changed is False

    shutil.rmtree(engine.index.folder / "chunks.sqlite", ignore_errors=True)
    (engine.index.folder / "chunks.sqlite").unlink(missing_ok=True)
    summary = build_index(knowledge, tmp_path / "index", encoder, engine.build_settings())
    assert summary.changed is True


def test_changing_one_of_many_documents_reuses_the_others_chunks(tmp_path):
    knowledge = tmp_path / "knowledge"
    many_documents(knowledge, 50)
    encoder = FakeEncoder()
    engine = make_engine(knowledge, tmp_path / "index", encoder)
    before = {c.id: c for c in engine.index.all_chunks()}
    write_doc(knowledge, "del-3/dokument-003.md", "Helt ny text om fritidsgårdar.\n", title="Ny")

    summary = engine.reindex()

    assert (summary.changed, summary.updated, summary.added) == (
        True,
        ["del-3/dokument-003.md"],
        [],
    )
    after = list(engine.index.all_chunks())
    assert len(after) == len(before)
    assert (
        sum(1 for c in after if c.doc_id == "del-3/dokument-003.md" and "fritidsgårdar" in c.text)
        == 1
    )


def test_embedding_progress_counts_passages_the_unit_of_the_summary(
    knowledge, index_dir, fake_encoder
):
    reports = []
    summary = build(
        knowledge,
        index_dir,
        fake_encoder,
        progress=lambda stage, done, total: reports.append((stage, done, total)),
    )

    embed = [(done, total) for stage, done, total in reports if stage == "embed"]
    assert embed[0] == (0, summary.chunks)
    assert embed[-1] == (summary.chunks, summary.chunks)
    assert {total for _done, total in embed} == {summary.chunks}
    done = [d for d, _total in embed]
    assert done == sorted(done)


def test_a_skipped_file_is_reported_once_in_the_summary_not_also_as_a_warning(
    tmp_path, index_dir, fake_encoder, caplog
):
    knowledge = tmp_path / "knowledge"
    write_doc(knowledge, "vanlig.md", "# Vanlig\n\nEtt vanligt dokument om skolan.\n")
    (knowledge / "trasig.pdf").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))

    with caplog.at_level("INFO"):
        summary = build(knowledge, index_dir, fake_encoder)

    assert [s.path for s in summary.skipped] == ["trasig.pdf"]
    warned = [r for r in caplog.records if r.levelname == "WARNING" and "trasig" in r.getMessage()]
    assert warned == []
