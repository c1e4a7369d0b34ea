"""The boxes every classic page repeats after the article, built from the seed pages' text.

They are the reason generic extractors fail on the network: none of them is marked up as
boilerplate, and several (RELATED CONTENT teasers, headline lists) read like article text.
"""

# ruff: noqa: E501  (HTML templates: markup lines stay whole so they read like the pages)

from __future__ import annotations

from html import escape
from urllib.parse import quote

from replica.network import NETWORK_DOMAINS, PUBLISHER_HOST, ClassicSite

COPYRIGHT = (
    "The content herein, unless otherwise known to be public domain, are Copyright 1995-2024 - "
    "Space Media Network. All websites are published in Australia and are solely subject to "
    "Australian law and governed by Fair Use principals for news reporting and research "
    "purposes. AFP, UPI and IANS news wire stories are copyright Agence France-Presse, United "
    "Press International and Indo-Asia News Service. ESA news reports are copyright European "
    "Space Agency. All NASA sourced material is public domain. Additional copyrights may apply "
    'in whole or part to other bona fide parties. All articles labeled "by Staff Writers" '
    "include reports supplied to Space Media Network by industry news wires, PR agencies, "
    "corporate press officers and the like. Such articles are individually curated and edited "
    "by Space Media Network staff on the basis of the report's information value to our "
    "industry and professional readership. Advertising does not imply endorsement, agreement "
    "or approval of any opinions, statements or information provided by Space Media Network "
    "on any Web page published or hosted by Space Media Network. General Data Protection "
    "Regulation (GDPR) Statement Our advertisers use various cookies and the like to deliver "
    "the best ad banner available at one time. All network advertising suppliers have GDPR "
    "policies (Legitimate Interest) that conform with EU regulations for data collection. By "
    "using our websites you consent to cookie based advertising. If you do not agree with this "
    "then you must stop using the websites from May 25, 2018."
)

PRIVACY_URL = "https://www.spacedaily.com/privacy.html"
ABOUT_URL = "https://www.spacedaily.com/aboutus.html"
ADVERTISING_URL = f"https://{PUBLISHER_HOST}/"

AD_IFRAME = (
    '<iframe src="https://pubads.g.doubleclick.net/gampad/adx?iu=/6448/smn_{slot}&amp;'
    'sz=300x250" width="300" height="250" frameborder="0" scrolling="no" marginwidth="0" '
    'marginheight="0"></iframe>'
)
AD_SCRIPT = (
    '<script async src="https://pagead2.googlesyndication.com/pagead/js/adsbygoogle.js">'
    '</script>\n<ins class="adsbygoogle" style="display:inline-block;width:728px;'
    'height:90px" data-ad-client="ca-pub-4751431386573849" data-ad-slot="{slot}"></ins>\n'
    "<script>(adsbygoogle = window.adsbygoogle || []).push({{}});</script>"
)


def ad_iframe(slot: str) -> str:
    return AD_IFRAME.format(slot=slot)


def ad_script(slot: str) -> str:
    return AD_SCRIPT.format(slot=slot)


def sponsor(site: ClassicSite, name: str) -> str:
    """A sponsor banner: an image under /sponsors/ linking to an ad click URL."""
    return (
        '<a href="https://adclick.g.doubleclick.net/pcs/click?adurl=https://www.'
        f'{name}.com/" target="_blank"><img src="https://{site.host}/sponsors/{name}-300x250.jpg"'
        ' width="300" height="250" border="0"></a>'
    )


def newsletter_box(site: ClassicSite) -> str:
    # The subscribe form lives under /cgi-bin/, which robots.txt disallows.
    return (
        '<table width="100%" cellpadding="4" cellspacing="0" border="0" bgcolor="#eeeeee">'
        f'<tr><td><a href="/cgi-bin/subscribe.cgi?list={site.stem}"><font face="Arial" '
        'size="-1"><b>Subscribe Free To Our Daily Newsletters</b></font></a></td></tr></table>'
    )


def tweet_button(url: str, title: str) -> str:
    return (
        f'<a href="https://twitter.com/share?url={quote(url, safe="")}&amp;text='
        f'{quote(title, safe="")}" class="twitter-share-button" data-count="horizontal">'
        "Tweet</a>"
        '<script src="https://platform.twitter.com/widgets.js"></script>'
    )


DONATION_BOX = """<table width="100%" cellpadding="10" cellspacing="0" border="1" bordercolor="#cccccc"><tr><td>
<font face="Verdana" size="-1"><b>Thanks for being here;</b><br>
We need your help. The SpaceDaily news network continues to grow but revenues have never been harder to maintain.
<p>With the rise of Ad Blockers, and Facebook - our traditional revenue sources via quality network advertising continues to decline. And unlike so many other news sites, we don't have a paywall - with those annoying usernames and passwords.
<p>Our news coverage takes time and effort to publish 365 days a year.
<p>If you find our news sites informative and useful then please consider becoming a regular supporter or for now make a one off contribution.</font>
<table width="100%" cellpadding="4"><tr><td align="center" valign="top">
<font face="Verdana" size="-1"><b>SpaceDaily Contributor</b><br>$5 Billed Once<br></font>
<form action="https://www.paypal.com/cgi-bin/webscr" method="post" target="_top">
<input type="hidden" name="cmd" value="_s-xclick"><input type="hidden" name="hosted_button_id" value="XLD4LNMMJP7KL">
<input type="image" src="https://www.paypalobjects.com/en_US/i/btn/btn_donateCC_LG.gif" border="0" name="submit" alt="PayPal">
</form><font face="Verdana" size="-2">credit card or paypal</font></td>
<td align="center" valign="top"><font face="Verdana" size="-1"><b>SpaceDaily Monthly Supporter</b><br>$5 Billed Monthly<br></font>
<form action="https://www.paypal.com/cgi-bin/webscr" method="post" target="_top">
<input type="hidden" name="cmd" value="_s-xclick"><input type="hidden" name="hosted_button_id" value="Q8TNGQ3TZKTYU">
<input type="image" src="https://www.paypalobjects.com/en_US/i/btn/btn_subscribeCC_LG.gif" border="0" name="submit" alt="PayPal">
</form><font face="Verdana" size="-2">paypal only</font></td></tr></table>
</td></tr></table>"""


def disqus_block(url: str, identifier: str) -> str:
    return f"""<p><font face="Arial" size="-1">Comment using your Disqus, Facebook, Google or Twitter login.</font>
<div id="disqus_thread"></div>
<script>
var disqus_config = function () {{ this.page.url = '{url}'; this.page.identifier = '{identifier}'; }};
(function() {{ var d = document, s = d.createElement('script');
s.src = 'https://spacedaily.disqus.com/embed.js'; s.setAttribute('data-timestamp', +new Date());
(d.head || d.body).appendChild(s); }})();
</script>
<noscript>Please enable JavaScript to view the <a href="https://disqus.com/?ref_noscript">comments powered by Disqus.</a></noscript>"""


def share_links(site: ClassicSite, url: str, title: str) -> str:
    u = quote(url, safe="")
    t = quote(title, safe="")
    services = (
        ("del.icio.us", f"https://del.icio.us/post?url={u}&amp;title={t}", "delicious"),
        ("Digg", f"https://digg.com/submit?url={u}&amp;title={t}", "digg"),
        ("Reddit", f"https://reddit.com/submit?url={u}&amp;title={t}", "reddit"),
        ("Google", f"https://www.google.com/bookmarks/mark?op=edit&amp;bkmk={u}", "google"),
    )
    links = " ".join(
        f'<a href="{href}" target="_blank"><img src="https://{site.host}/images/{icon}.gif"'
        f' alt="{name}" border="0" width="16" height="16">{name}</a>'
        for name, href, icon in services
    )
    return (
        '<p><font face="Arial" size="-1">Share this article via these popular social media '
        f"networks</font><br>\n{links}\n"
        f'<a href="https://www.facebook.com/sharer.php?u={u}" target="_blank">'
        f'<img src="https://{site.host}/images/facebook.gif" alt="Facebook" border="0"></a>'
    )


def network_strip() -> str:
    """Links to every site of the network, spelt like the advertising page spells them."""
    names = {
        "spacedaily.com": "SpaceDaily",
        "spacewar.com": "SpaceWar",
        "terradaily.com": "TerraDaily",
        "energy-daily.com": "Energy-Daily",
        "marsdaily.com": "MarsDaily",
        "spacemart.com": "SpaceMart",
        "space-travel.com": "Space-Travel",
        "nuclearpowerdaily.com": "NuclearPowerDaily",
    }
    links = []
    for domain in NETWORK_DOMAINS:
        if domain == "energydaily.com":
            continue
        label = names.get(domain, domain.removesuffix(".com").capitalize()) + ".com"
        links.append(f'<a href="http://www.{label}">{label}</a>')
    return (
        '<table width="100%" cellpadding="4" cellspacing="0" border="0"><tr>'
        '<td align="center"><font face="Tahoma" size="-2">'
        + " | ".join(links)
        + "</font></td></tr></table>"
    )


def footer() -> str:
    return (
        '<table width="100%" cellpadding="8" cellspacing="0" border="0"><tr><td>'
        f'<font face="Arial" size="-2" color="#666666">{escape(COPYRIGHT, quote=False)} '
        f'<a href="{PRIVACY_URL}">Privacy Statement</a>. Additional information can be found '
        f'here at <a href="{ABOUT_URL}">About Us</a>.</font></td></tr></table>'
    )
