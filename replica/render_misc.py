"""Everything that is neither an article, a listing nor a feed: robots.txt, error pages, the
publisher's advertising page, About and Privacy pages, images and the direct-mode index."""

# ruff: noqa: E501  (HTML templates: markup lines stay whole so they read like the pages)

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape

from replica import boilerplate as bp
from replica.model import Link
from replica.network import NETWORK_DOMAINS, robots_rules


def robots_txt(host: str) -> bytes:
    allow, disallow = robots_rules(host)
    lines = ["User-agent: *"]
    lines += [f"Allow: {p}" for p in allow]
    lines += [f"Disallow: {p}" for p in disallow]
    if not disallow:
        lines.append("Disallow:")
    return ("\n".join(lines) + "\n").encode("ascii")


def combined_robots_txt(hosts: Sequence[str]) -> bytes:
    """robots.txt for direct mode, where every host lives under a /<host>/ path prefix."""
    lines = ["User-agent: *", "Disallow: /_replica/"]
    for host in hosts:
        allow, disallow = robots_rules(host)
        lines += [f"Allow: /{host}{p}" for p in allow]
        lines += [f"Disallow: /{host}{p}" for p in disallow]
    return ("\n".join(lines) + "\n").encode("ascii")


def not_found(path: str) -> bytes:
    """Apache's 404 page, as the classic servers send it."""
    return (
        '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
        "<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n"
        f"<p>The requested URL {escape(path)} was not found on this server.</p>\n"
        "</body></html>\n"
    ).encode("latin-1", errors="xmlcharrefreplace")


def bad_gateway(host: str) -> bytes:
    return (
        "<html><head><title>502 Bad Gateway</title></head><body>\n"
        f"<h1>Bad Gateway</h1>\n<p>The replica does not serve {escape(host)}: it is not part "
        "of the Space Media Network, and a crawler of the network should not ask for it.</p>\n"
        "</body></html>\n"
    ).encode()


def redirect_page(location: str) -> bytes:
    return (
        '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
        "<title>301 Moved Permanently</title>\n</head><body>\n<h1>Moved Permanently</h1>\n"
        f'<p>The document has moved <a href="{escape(location)}">here</a>.</p>\n</body></html>\n'
    ).encode("latin-1", errors="xmlcharrefreplace")


def advertising_page() -> bytes:
    """The publisher's page on www.spacemedianetwork.com: links to every site, mixed case."""
    names = [
        "SpaceDaily",
        "SpaceWar",
        "TerraDaily",
        "EnergyDaily",
        "BiofuelDaily",
        "GPSDaily",
        "IndoDaily",
    ]
    names += [
        "InternDaily",
        "MarsDaily",
        "MoonDaily",
        "NanoDaily",
        "NuclearPowerDaily",
        "RadarDaily",
    ]
    names += ["RoboDaily", "OilGasDaily", "RussoDaily", "SaturnDaily", "SeedDaily", "SinoDaily"]
    names += ["SkyNightly", "SolarDaily", "SpaceMart", "Space-Travel", "WindDaily"]
    links = " ".join(f'<a href="http://www.{n}.com">{n}.com</a>' for n in names)
    return f"""<HTML><HEAD><TITLE>Space News Advertising, Defense News Advertising, Environment News Advertising, Energy News Advertising</TITLE>
<meta name="description" content="Space Media Network - Space, Defense, Environment and Energy News Advertising">
<META name="robots" content="index, follow">
</HEAD>
<BODY link="#800000" vlink="#800000" alink="#800000">
<br><br>
<table cellspacing=0 cellpadding=0 border=0 align="center" width=900><tr><td align="center"><a href="spacemedianetwork-2017.pdf"><img src="http://www.spacemedianetwork.com/smn-banner-970-160.jpg" border=0 width=970 height=160></a></td></tr></table>
<br><br>
<table cellspacing=0 cellpadding=0 border=0 align="center" width=900><tr><td align="center">
<font face="Tahoma" size="+3"><b>Space Media Network publishes daily trade news for the space, defense, environment and energy sectors</b></font></td></tr></table>
<br><br>
<table cellspacing=0 cellpadding=0 border=0 align="center" width=900><tr><td align="center">
<font face="Tahoma"><font size="-1">
{links}
</font></font></td></tr></table>
<br><br>
<table cellspacing=0 cellpadding=0 border=0 align="center" width=900><tr><td align="center">
<font face="Tahoma" size="+3"><a href="http://www.spacemedianetwork.com/spacemedianetwork-2017.pdf"><font color="#000000"><b>Advertising Kit Available Here</b></font></a></font></td></tr></table>
</BODY>
</HTML>
""".encode("latin-1")


ABOUT_TEXT = (
    "Space Media Network has published daily news about space, defense, the environment and "
    "energy since 1995, through SpaceDaily and a family of sister sites.",
    "Our editors curate reports from the news wires, space agencies, universities and "
    "industry. Wire stories appear on every site of the network they concern.",
    "For advertising enquiries please visit our publisher's page.",
)

PRIVACY_TEXT = (
    "Our advertisers use various cookies and the like to deliver the best ad banner "
    "available at one time.",
    "All network advertising suppliers have GDPR policies (Legitimate Interest) that conform "
    "with EU regulations for data collection. By using our websites you consent to cookie "
    "based advertising.",
)


def classic_info_page(title: str, paragraphs: Sequence[str], links: Sequence[Link]) -> bytes:
    """About Us and Privacy Statement on the classic layout: text, but not an article."""
    body = "\n".join(f"<p>{escape(p, quote=False)}" for p in paragraphs)
    link_html = "<br>\n".join(f'<a href="{escape(x.url)}">{escape(x.text)}</a>' for x in links)
    return f"""<html>
<head>
<title>{escape(title)} - Space Media Network</title>
<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">
</head>
<body bgcolor="#FFFFFF" link="#800000" vlink="#800000">
<table width="800" align="center" cellpadding="10" cellspacing="0" border="0"><tr><td>
<font face="Arial" size="+2"><b>{escape(title)}</b></font>
<font face="Arial">
{body}
<p>{link_html}
</font>
</td></tr></table>
{bp.footer()}
</body>
</html>
""".encode("latin-1", errors="xmlcharrefreplace")


def cgi_page(path: str) -> bytes:
    """What /cgi-bin/ answers: only an impolite crawler ever sees it."""
    return (
        "<html><head><title>Newsletter subscription</title></head><body>\n"
        '<form method="post" action="/cgi-bin/subscribe.cgi"><p>Email: '
        '<input name="email"><input type="submit" value="Subscribe"></form>\n'
        f"<!-- {escape(path)} -->\n</body></html>\n"
    ).encode("latin-1", errors="xmlcharrefreplace")


def direct_index(base: str, start_urls: Sequence[str]) -> bytes:
    """The page at the replica's root in direct mode: the start URLs, path-prefixed."""
    items = "\n".join(
        f'<li><a href="{escape(base)}/{escape(u.split("://", 1)[1])}">{escape(u)}</a></li>'
        for u in start_urls
    )
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Space Media Network replica</title></head>
<body><h1>Space Media Network replica</h1>
<p>Every network host is served under a path prefix: {escape(base)}/&lt;host&gt;/&lt;path&gt;.
Links inside pages are rewritten to the same form.</p>
<ul>
{items}
</ul>
<p>Network domains: {escape(", ".join(NETWORK_DOMAINS))}</p>
</body></html>
""".encode()


# A 1x1 transparent GIF, and a one-page PDF: the network's images and its advertising kit.
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
TINY_PDF = (
    b"%PDF-1.1\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
