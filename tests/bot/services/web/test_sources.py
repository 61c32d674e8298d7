"""Web pages as sources, against a local municipal site on 127.0.0.1."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from bot.services.web import (
    SourcesError,
    UnsafeURLError,
    check_address,
    check_url,
    check_url_resolves,
    fetch_sources,
    load_sources,
    page_file_name,
)
from index.documents import decode_text, split_front_matter
from index.engine import Engine
from tests.bot.conftest import make_config
from tests.bot.municipal_site import ARTICLE_SENTENCES, LAST_MODIFIED, NOT_ARTICLE

MB = 1_000_000


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    return knowledge


def list_pages(folder: Path, site, *entries: tuple[str, str] | tuple[str, str, str]) -> None:
    lines = ["sources:"]
    for entry in entries:
        path, visibility = entry[:2]
        lines += [f"  - url: {site.url}{path}", f"    visibility: {visibility}"]
        if len(entry) == 3:
            lines.append(f"    title: {entry[2]}")
    (folder / "sources.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


async def fetch(folder: Path, **kwargs):
    kwargs.setdefault("allowed_hosts", ("127.0.0.1",))  # the local site; refused otherwise
    kwargs.setdefault("timeout", 5.0)
    kwargs.setdefault("max_bytes", 1 * MB)
    return await fetch_sources(folder, **kwargs)


def read_copy(folder: Path, doc_id: str) -> tuple[dict, str]:
    return split_front_matter(decode_text((folder / doc_id).read_bytes()))


def flat(text: str) -> str:
    return " ".join(text.split())


async def test_only_the_article_text_of_a_municipal_page_is_indexed(folder, site, tmp_path):
    list_pages(folder, site, ("/integration", "public"))
    report = await fetch(folder)

    [result] = report.results
    assert result.outcome == "added" and result.doc_id.startswith("web/127-0-0-1-integration-")
    meta, body = read_copy(folder, result.doc_id)
    assert meta["url"] == f"{site.url}/integration"
    assert meta["visibility"] == "public" and meta["source"] == "sources.yaml"
    assert meta["title"] == "Integration och mottagande av nyanlända"
    assert abs(time.time() - _timestamp(meta["fetched_at"])) < 60

    engine = Engine(make_config(folder, tmp_path / "state").engine, _encoder())
    engine.reindex()
    indexed = flat(" ".join(c.text for c in engine.index.all_chunks() if c.doc_id == result.doc_id))
    for sentence in ARTICLE_SENTENCES:
        assert flat(sentence) in indexed
    for noise in NOT_ARTICLE:
        assert noise not in indexed, noise
    assert engine.index.documents[result.doc_id].url == f"{site.url}/integration"
    assert engine.index.documents[result.doc_id].visibility == "public"


async def test_a_second_fetch_is_conditional_and_leaves_the_copy_untouched(folder, site):
    list_pages(folder, site, ("/integration", "internal"))
    first = await fetch(folder)
    path = folder / first.results[0].doc_id
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    second = await fetch(folder)

    assert second.results[0].outcome == "unchanged" and not second.changed
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    _, headers = site.requests[-1]
    assert headers["If-None-Match"] == site.etag()
    assert headers["If-Modified-Since"] == LAST_MODIFIED


async def test_a_page_without_validators_is_rewritten_only_when_its_text_changed(folder, site):
    list_pages(folder, site, ("/sommarskola", "public"))
    first = await fetch(folder)
    path = folder / first.results[0].doc_id
    before = path.read_bytes()
    second = await fetch(folder)
    assert second.results[0].outcome == "unchanged" and path.read_bytes() == before
    assert "If-None-Match" not in site.requests[-1][1]


async def test_a_changed_page_is_updated(folder, site):
    list_pages(folder, site, ("/integration", "public"))
    first = await fetch(folder)
    site.extra = "Från 2025 erbjuds även föräldrautbildning på arabiska och somaliska."
    second = await fetch(folder)
    assert second.results[0].outcome == "updated" and second.changed
    _, body = read_copy(folder, first.results[0].doc_id)
    assert "föräldrautbildning på arabiska" in body


async def test_a_source_returning_500_keeps_the_last_good_copy_and_is_reported(folder, site):
    list_pages(folder, site, ("/integration", "public"), ("/trasig", "public"))
    first = await fetch(folder)
    good = folder / first.results[0].doc_id
    before = good.read_bytes()
    site.broken = True
    second = await fetch(folder)

    outcomes = {r.url.rsplit("/", 1)[1]: (r.outcome, r.reason) for r in second.results}
    assert outcomes["integration"] == ("failed", "HTTP 500 Internal Server Error")
    assert outcomes["trasig"] == ("failed", "HTTP 500 Internal Server Error")
    assert good.read_bytes() == before
    assert not (folder / first.results[1].doc_id).exists()
    assert len(second.failed) == 2 and not second.changed


@pytest.mark.parametrize("path", ["/stor", "/stor-utan-langd"], ids=["declared", "chunked"])
async def test_a_50_mb_body_is_refused_without_reading_it_all(folder, site, path):
    list_pages(folder, site, (path, "public"))
    started = time.perf_counter()
    report = await fetch(folder, max_bytes=1 * MB)
    [result] = report.results
    assert result.outcome == "failed"
    assert "over the limit of 1000000 bytes" in (result.reason or "")
    assert time.perf_counter() - started < 10
    assert not (folder / result.doc_id).exists()


async def test_a_non_html_response_is_refused(folder, site):
    list_pages(folder, site, ("/rapport.pdf", "public"))
    [result] = (await fetch(folder)).results
    assert (result.outcome, result.reason) == ("failed", "not an HTML page (application/pdf)")


async def test_a_page_that_does_not_answer_in_time_is_reported(folder, site):
    list_pages(folder, site, ("/langsam", "public"))
    started = time.perf_counter()
    [result] = (await fetch(folder, timeout=0.5)).results
    assert (result.outcome, result.reason) == ("failed", "timed out")
    assert time.perf_counter() - started < 5


async def test_a_page_removed_from_the_list_is_removed_but_hand_made_files_stay(folder, site):
    list_pages(folder, site, ("/integration", "public"), ("/sommarskola", "public"))
    first = await fetch(folder)
    (folder / "web" / "egen.md").write_text("# Egen\n\nSkriven för hand.\n", encoding="utf-8")
    list_pages(folder, site, ("/sommarskola", "public"))
    second = await fetch(folder)
    removed = [r for r in second.results if r.outcome == "removed"]
    assert [r.doc_id for r in removed] == [first.results[0].doc_id]
    assert not (folder / first.results[0].doc_id).exists()
    assert (folder / "web" / "egen.md").exists()


async def test_a_new_visibility_or_title_in_the_list_applies_even_when_the_page_is_unchanged(
    folder, site
):
    list_pages(folder, site, ("/integration", "public"))
    first = await fetch(folder)
    list_pages(folder, site, ("/integration", "internal", "Integration i Falköping"))
    second = await fetch(folder)
    assert second.results[0].outcome == "updated"
    meta, _ = read_copy(folder, first.results[0].doc_id)
    assert (meta["visibility"], meta["title"]) == ("internal", "Integration i Falköping")
    assert site.requests[-1][1].get("If-None-Match")  # answered with 304


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources: [", "not valid YAML"),
        ("sources:\n  - url: ftp://example.org/x\n", "entry 1: url must be an http(s) address"),
        ("- url: https://a.se/\n  visibility: secret\n", "entry 1: visibility must be"),
        ("- url: https://a.se/\n  färg: blå\n", "entry 1: unknown key 'färg'"),
        ("- https://a.se/\n- https://a.se/\n", "entry 2: https://a.se/ is listed twice"),
    ],
)
def test_a_broken_sources_list_is_one_clear_error(folder, text, message):
    (folder / "sources.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SourcesError, match=re.escape(message)):
        load_sources(folder)


def test_sources_take_the_default_visibility_and_get_stable_readable_names(folder):
    (folder / "sources.yaml").write_text(
        "- https://www.nassjo.se/omsorg/Integration%20och%20nyanlända\n", encoding="utf-8"
    )
    [source] = load_sources(folder, "internal")
    assert source.visibility == "internal" and source.title is None
    name = page_file_name(source.url)
    assert name.startswith("nassjo-se-omsorg-integration-20och-20nyanl") and name.endswith(".md")
    assert page_file_name(source.url) == name and page_file_name(source.url + "?a") != name


def _timestamp(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp()


def _encoder():
    from tests.conftest import FakeEncoder

    return FakeEncoder()


def test_no_sources_file_means_no_sources(folder):
    assert load_sources(folder) == []
    assert not os.listdir(folder)


# --------------------------------------------------------------------------- the URL policy


@pytest.mark.parametrize(
    ("url", "allowed", "refusal"),
    [
        ("https://www.falkoping.se/integration", (), None),
        ("http://93.184.216.34/", (), None),
        ("ftp://www.falkoping.se/", (), "only http(s) addresses"),
        ("file:///etc/passwd", (), "only http(s) addresses"),
        ("https://user:pw@www.falkoping.se/", (), "user name or password"),
        ("https://user@www.falkoping.se/", ("www.falkoping.se",), "user name or password"),
        ("http://127.0.0.1:8080/", (), "loopback"),
        ("http://[::1]/", (), "loopback"),
        ("http://[::ffff:127.0.0.1]/", (), "loopback"),
        ("http://169.254.169.254/latest/meta-data/", (), "link-local"),
        ("http://10.0.0.5/", (), "private"),
        ("http://192.168.1.1/", (), "private"),
        ("http://100.64.0.1/", (), "non-public"),
        ("http://0.0.0.0/", (), "a"),
        ("http://2130706433/", (), "not a public address"),
        ("http://127.1/", (), "not a public address"),
        ("http://0x7f.1/", (), "not a public address"),
        ("http://127.0.0.1:8080/", ("127.0.0.1",), None),
        ("http://intranet.kommun.se./", ("intranet.kommun.se",), None),
    ],
)
def test_the_url_policy_refuses_what_is_not_a_public_web_address(url, allowed, refusal):
    if refusal is None:
        check_url(url, allowed)
    else:
        with pytest.raises(UnsafeURLError, match=re.escape(refusal)):
            check_url(url, allowed)


IPV4_IN_IPV6 = [
    # (form, IPv6 address, what it reaches or None for a refusal of the whole range)
    ("NAT64", "64:ff9b::a9fe:a9fe", "169.254.169.254) is a link-local"),
    ("NAT64", "64:ff9b::7f00:1", "127.0.0.1) is a loopback"),
    ("NAT64", "64:ff9b::c0a8:101", "192.168.1.1) is a private"),
    ("NAT64 local use", "64:ff9b:1::a9fe:a9fe", "tunnel or local translation"),
    ("6to4", "2002:a9fe:a9fe::", "169.254.169.254) is a link-local"),
    ("6to4", "2002:7f00:1::1", "127.0.0.1) is a loopback"),
    ("6to4", "2002:a00:1::", "10.0.0.1) is a private"),
    ("IPv4-compatible", "::127.0.0.1", "127.0.0.1) is a loopback"),
    ("IPv4-compatible", "::a9fe:a9fe", "169.254.169.254) is a link-local"),
    ("IPv4-mapped", "::ffff:127.0.0.1", "127.0.0.1) is a loopback"),
    ("IPv4-mapped", "::ffff:a9fe:a9fe", "169.254.169.254) is a link-local"),
    ("IPv4-translated", "::ffff:0:7f00:1", "127.0.0.1) is a loopback"),
    ("IPv4-translated", "::ffff:0:a9fe:a9fe", "169.254.169.254) is a link-local"),
    ("Teredo", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "tunnel or local translation"),
    ("Teredo", "2001:0:a9fe:a9fe::1", "tunnel or local translation"),
    ("NAT64", "64:ff9b::808:808", None),
    ("6to4", "2002:808:808::1", None),
    ("IPv4-mapped", "::ffff:8.8.8.8", None),
    ("IPv4-translated", "::ffff:0:808:808", None),
    ("plain IPv6", "2606:4700:4700::1111", None),
]


@pytest.mark.parametrize(
    ("address", "refusal"),
    [(address, refusal) for _, address, refusal in IPV4_IN_IPV6],
    ids=[f"{form} {address}" for form, address, _ in IPV4_IN_IPV6],
)
@pytest.mark.parametrize("how", ["in the URL", "resolved from a name"])
def test_an_ipv6_address_carrying_ipv4_is_judged_by_the_ipv4_address(address, refusal, how):
    if how == "in the URL":
        check = lambda: check_url(f"http://[{address}]/latest/meta-data/")  # noqa: E731
    else:  # what the resolver and the connector check
        check = lambda: check_address("metadata.example", address)  # noqa: E731
    if refusal is None:
        check()
    else:
        with pytest.raises(UnsafeURLError, match=re.escape(refusal)):
            check()


async def test_a_name_resolving_to_loopback_is_refused_unless_allowed():
    with pytest.raises(UnsafeURLError, match="localhost \\(.*\\) is a loopback address"):
        await check_url_resolves("http://localhost:9/")
    await check_url_resolves("http://localhost:9/", ["localhost"])
    with pytest.raises(UnsafeURLError, match="could not be resolved"):
        await check_url_resolves("http://no-such-host.invalid/")


async def test_a_listed_loopback_page_is_refused_without_the_host_allowed(folder, site):
    list_pages(folder, site, ("/integration", "public"))
    [result] = (await fetch(folder, allowed_hosts=())).results
    assert result.outcome == "failed"
    assert result.reason == (
        "refused: 127.0.0.1 is a loopback address; add the host to sources.allowed_hosts"
        " to allow it"
    )
    assert site.requests == [] and not list(folder.rglob("*.md"))


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://localhost:{port}/hemlig", "refused: localhost (127.0.0.1) is a loopback address"),
        (
            "http://[::ffff:127.0.0.1]:{port}/hemlig",
            "refused: ::ffff:7f00:1 (127.0.0.1) is a loopback",
        ),
        ("http://admin:hemligt@127.0.0.1:{port}/hemlig", "refused: addresses with a user name"),
        ("http://2130706433:{port}/hemlig", "refused: 2130706433 is not a public address"),
        ("file:///etc/passwd", "refused: only http(s) addresses can be fetched"),
    ],
)
async def test_a_redirect_to_a_private_address_is_refused_and_nothing_is_stored(
    folder, site, target, reason
):
    # 127.0.0.1 is allowed (the listed page is on it); the redirect goes to another name
    # or form of a loopback address, which is not.
    port = site.url.rsplit(":", 1)[1]
    site.redirect_to = target.format(port=port)
    list_pages(folder, site, ("/flyttad", "public"))
    [result] = (await fetch(folder)).results
    assert result.outcome == "failed"
    assert (result.reason or "").startswith(reason), result.reason
    assert [path for path, _ in site.requests] == ["/flyttad"]
    assert not (folder / result.doc_id).exists()


async def test_a_redirect_to_an_allowed_host_is_followed(folder, site):
    site.redirect_to = "/integration"
    list_pages(folder, site, ("/flyttad", "public"))
    [result] = (await fetch(folder)).results
    assert result.outcome == "added"
    assert [path for path, _ in site.requests] == ["/flyttad", "/integration"]
    _, body = read_copy(folder, result.doc_id)
    assert ARTICLE_SENTENCES[0] in flat(body)


async def test_a_redirect_loop_stops(folder, site):
    site.redirect_to = "/flyttad"
    list_pages(folder, site, ("/flyttad", "public"))
    [result] = (await fetch(folder)).results
    assert (result.outcome, result.reason) == ("failed", "too many redirects")


async def test_the_address_actually_connected_to_is_checked_even_if_resolving_was_fooled(
    folder, site, monkeypatch
):
    # As if DNS rebinding slipped a loopback address past the resolver's check: the
    # connection's peer address is checked before any request is sent on it.
    import aiohttp

    from bot.services.web import policy

    async def unchecked(self, host, port=0, family=0):
        return await aiohttp.ThreadedResolver().resolve(host, port, family)

    monkeypatch.setattr(policy.PublicOnlyResolver, "resolve", unchecked)
    port = site.url.rsplit(":", 1)[1]
    site.redirect_to = f"http://localhost:{port}/hemlig"
    list_pages(folder, site, ("/flyttad", "public"))
    [result] = (await fetch(folder)).results
    assert result.outcome == "failed"
    assert (result.reason or "").startswith("refused: localhost (127.0.0.1) is a loopback")
    assert [path for path, _ in site.requests] == ["/flyttad"]


# --------------------------------------------------------------------------- editing the list


@pytest.mark.parametrize(
    ("before", "kept"),
    [
        ("", None),
        ("# Våra sidor\nsources:\n  # Nässjö\n  - url: https://a.se/\n    visibility: public\n", 1),
        ("# Lista\n- https://a.se/   # Nässjö\n- url: https://b.se/\n\n# slut\n", 2),
        ("sources:\n- url: https://a.se/\n  title: A   # egen titel\n", 1),
        ("sources: []   # tom\n", 0),
        ("sources: [{url: 'https://a.se/'}]\n", 1),
    ],
    ids=["no file", "mapping", "plain list", "unindented", "empty flow", "flow"],
)
def test_a_source_is_added_after_the_others_keeping_every_comment_it_can(folder, before, kept):
    from bot.services.web import add_source

    path = folder / "sources.yaml"
    if before:
        path.write_text(before, encoding="utf-8")
    old = [s.url for s in load_sources(folder)]
    add_source(folder, "https://www.falkoping.se/ny", "public", allowed_hosts=())
    text = path.read_text(encoding="utf-8")
    assert [(s.url, s.visibility) for s in load_sources(folder)][-1] == (
        "https://www.falkoping.se/ny",
        "public",
    )
    assert [s.url for s in load_sources(folder)][:-1] == old
    if before and "[" not in before:
        comments = [line.split("#", 1)[1] for line in before.splitlines() if "#" in line]
        assert all(comment in text for comment in comments), text
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_removing_a_source_deletes_only_its_lines(folder):
    from bot.services.web import remove_source

    text = (
        "# Lista\nsources:\n  - url: https://a.se/\n    visibility: public   # a\n"
        "  # b följer\n  - url: https://b.se/\n    visibility: internal\n"
        "  - url: https://c.se/   # c\n"
    )
    (folder / "sources.yaml").write_text(text, encoding="utf-8")
    removed = remove_source(folder, "https://b.se/")
    assert removed.visibility == "internal"
    assert (folder / "sources.yaml").read_text(encoding="utf-8") == (
        "# Lista\nsources:\n  - url: https://a.se/\n    visibility: public   # a\n"
        "  # b följer\n  - url: https://c.se/   # c\n"
    )
    with pytest.raises(SourcesError, match="is not listed"):
        remove_source(folder, "https://b.se/")


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://127.0.0.1/", UnsafeURLError),
        ("gopher://a.se/", UnsafeURLError),
        ("https://a.se/", SourcesError),  # already listed
    ],
)
def test_a_refused_addition_writes_nothing(folder, url, error):
    from bot.services.web import add_source

    before = "sources:\n  - url: https://a.se/   # behåll\n"
    (folder / "sources.yaml").write_text(before, encoding="utf-8")
    with pytest.raises(error):
        add_source(folder, url, "public")
    assert (folder / "sources.yaml").read_text(encoding="utf-8") == before
