"""A local web server on 127.0.0.1 that looks like a municipality's site, for web-source tests.

Pages have what real municipal pages have around the article: a cookie banner, the main
navigation, a search form, breadcrumbs, related links, a footer with contact details and
scripts. ``/integration`` answers conditional requests (ETag, Last-Modified) with 304;
other routes fail in the ways sites fail: 500, a 50 MB body (with and without a
Content-Length), a PDF, a page that never answers in time. ``/flyttad`` redirects to
``site.redirect_to``; ``/hemlig`` is a page that must never be fetched by a redirect.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web

ARTICLE_SENTENCES = (
    "Falköpings kommun tar emot nyanlända flyktingar enligt bosättningslagen.",
    "Samhällsorientering ges på modersmål och omfattar minst 100 timmar.",
    "Sedan 2012 samarbetar Falköping med Borlänge, Lindesberg och Nässjö i ett nätverk för "
    "flyktingmottagande.",
)
NOT_ARTICLE = (
    "Vi använder kakor",
    "Godkänn alla kakor",
    "Barn och utbildning",
    "Bygga, bo och miljö",
    "Sök på webbplatsen",
    "0515-88 50 00",
    "kommun@falkoping.se",
    "Tillgänglighetsredogörelse",
    "Följ oss",
    "Relaterade sidor",
    "dataLayer",
)
LAST_MODIFIED = "Tue, 12 Mar 2024 08:00:00 GMT"


def municipal_page(title: str, body_html: str) -> str:
    """Return a full page around ``body_html`` with banner, navigation and footer."""
    return f"""<!DOCTYPE html>
<html lang="sv"><head><meta charset="utf-8"><title>{title} - Falköpings kommun</title>
<link rel="stylesheet" href="/css/site.css"><script>window.dataLayer=[];</script></head>
<body>
<div id="cookie-banner" class="cookie-consent" role="dialog" aria-label="Kakor">
  <p>Vi använder kakor (cookies) för att förbättra din upplevelse av webbplatsen.
  Genom att fortsätta godkänner du att vi använder kakor.</p>
  <button>Godkänn alla kakor</button> <button>Endast nödvändiga</button>
  <a href="/om-webbplatsen/kakor">Läs mer om kakor</a>
</div>
<header class="site-header"><a href="/" class="logo">Falköpings kommun</a>
<nav class="main-nav" aria-label="Huvudmeny"><ul>
<li><a href="/barn-och-utbildning">Barn och utbildning</a></li>
<li><a href="/bygga-bo-och-miljo">Bygga, bo och miljö</a></li>
<li><a href="/kommun-och-politik">Kommun och politik</a></li>
<li><a href="/omsorg-och-hjalp">Omsorg och hjälp</a></li>
</ul></nav>
<form class="search" action="/sok"><input name="q" placeholder="Sök på webbplatsen">
<button>Sök</button></form>
</header>
<nav class="breadcrumbs"><a href="/">Startsida</a> › <a href="/omsorg">Omsorg och hjälp</a>
› {title}</nav>
<main id="content"><article>
{body_html}
</article>
<aside class="related"><h2>Relaterade sidor</h2><ul><li><a href="/sfi">SFI</a></li>
<li><a href="/bostad">Bostad för nyanlända</a></li></ul></aside>
<div class="page-meta">Senast uppdaterad: 12 mars 2024 · Sidansvarig: Integrationsenheten</div>
</main>
<footer class="site-footer">
<div><h2>Kontakta oss</h2><p>Falköpings kommun, 521 81 Falköping. Telefon: 0515-88 50 00.
E-post: kommun@falkoping.se</p></div>
<div><h2>Följ oss</h2><ul><li><a href="#">Facebook</a></li><li><a href="#">Instagram</a></li>
</ul></div>
<p>© 2024 Falköpings kommun · <a href="/tillganglighet">Tillgänglighetsredogörelse</a></p>
</footer>
<script src="/js/site.js"></script>
</body></html>
"""


def integration_article(extra: str = "") -> str:
    """Return the article of /integration (``extra`` is appended as one more paragraph)."""
    first, second, third = ARTICLE_SENTENCES
    return f"""<h1>Integration och mottagande av nyanlända</h1>
<p class="ingress">{first} Kommunen arbetar för att alla ska komma in i arbete och samhälle
så snabbt som möjligt.</p>
<p>Kommunens integrationsenhet samordnar mottagandet tillsammans med Arbetsförmedlingen,
skolan och civilsamhället. Varje nyanländ person får en egen kontaktperson.</p>
<h2>Samhällsorientering</h2>
<p>{second} Kursen tar upp hur det svenska samhället fungerar, rättigheter och skyldigheter
samt hur man söker arbete.</p>
<h2>Nätverket med andra kommuner</h2>
<p>{third} Nätverket delar erfarenheter och driver gemensamma frågor gentemot staten.</p>
{f"<p>{extra}</p>" if extra else ""}
"""


@dataclass
class MunicipalSite:
    """The running site: its base URL, what it serves, and the requests it received."""

    url: str = ""
    extra: str = ""
    broken: bool = False
    redirect_to: str = "/integration"
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def page(self) -> bytes:
        return municipal_page("Integration", integration_article(self.extra)).encode("utf-8")

    def etag(self) -> str:
        return '"' + hashlib.sha256(self.page()).hexdigest()[:16] + '"'


def _app(site: MunicipalSite) -> web.Application:
    async def record(request: web.Request) -> None:
        site.requests.append((request.path, dict(request.headers)))

    async def integration(request: web.Request) -> web.StreamResponse:
        await record(request)
        if site.broken:
            return web.Response(status=500, text="Internal Server Error")
        etag = site.etag()
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=site.page(),
            content_type="text/html",
            charset="utf-8",
            headers={"ETag": etag, "Last-Modified": LAST_MODIFIED},
        )

    async def other(request: web.Request) -> web.StreamResponse:
        await record(request)
        page = municipal_page(
            "Sommarskola",
            "<h1>Sommarskola</h1><p>Sommarskolan i Falköping hålls i juli varje år för elever "
            "som vill läsa svenska under sommaren. Anmälan görs till skolan före maj.</p>",
        )
        return web.Response(text=page, content_type="text/html")  # no validators at all

    async def error(request: web.Request) -> web.StreamResponse:
        await record(request)
        return web.Response(status=500, text="Internal Server Error")

    async def huge_declared(request: web.Request) -> web.StreamResponse:
        await record(request)
        response = web.StreamResponse(
            headers={"Content-Type": "text/html", "Content-Length": str(50 * 1024 * 1024)}
        )
        await response.prepare(request)
        try:
            for _ in range(50 * 16):
                await response.write(b"<p>" + b"x" * (64 * 1024 - 7) + b"</p>")
        except (ConnectionError, asyncio.CancelledError):
            pass
        return response

    async def huge_chunked(request: web.Request) -> web.StreamResponse:
        await record(request)
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for _ in range(50 * 16):  # 50 MB in 64 kB chunks, unless the client hangs up
                await response.write(b"<p>" + b"x" * (64 * 1024 - 7) + b"</p>")
        except (ConnectionError, asyncio.CancelledError):
            pass
        return response

    async def pdf(request: web.Request) -> web.StreamResponse:
        await record(request)
        return web.Response(body=b"%PDF-1.4\n...", content_type="application/pdf")

    async def slow(request: web.Request) -> web.StreamResponse:
        await record(request)
        await asyncio.sleep(30)
        return web.Response(text="<p>för sent</p>", content_type="text/html")

    async def moved(request: web.Request) -> web.StreamResponse:
        await record(request)
        raise web.HTTPFound(site.redirect_to)

    async def secret(request: web.Request) -> web.StreamResponse:
        await record(request)
        page = municipal_page("Hemligt", "<h1>Hemligt</h1><p>Lösenordet till servern är ost.</p>")
        return web.Response(text=page, content_type="text/html")

    app = web.Application()
    app.router.add_get("/flyttad", moved)
    app.router.add_get("/hemlig", secret)
    app.router.add_get("/integration", integration)
    app.router.add_get("/sommarskola", other)
    app.router.add_get("/trasig", error)
    app.router.add_get("/stor", huge_declared)
    app.router.add_get("/stor-utan-langd", huge_chunked)
    app.router.add_get("/rapport.pdf", pdf)
    app.router.add_get("/langsam", slow)
    return app


async def serve_site() -> AsyncIterator[MunicipalSite]:
    """Run the site on 127.0.0.1 (a free port) until the generator is closed."""
    site = MunicipalSite()
    runner = web.AppRunner(_app(site), shutdown_timeout=0.5)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    site.url = f"http://127.0.0.1:{port}"
    try:
        yield site
    finally:
        await runner.cleanup()
