"""Measure main-text extractors on pages with known article text (not a test; run by hand).

    PYTHONPATH=/path/with/readability-and-selectolax python tests/web/measure_extractors.py [HTML_DIR]

The generated corpus wraps known article paragraphs in the boilerplate real sites carry (menus,
cookie banners, sidebars, comment threads, footers, div soup without semantic tags, table
layouts), so word-level precision and recall against the article are exact.  Files in HTML_DIR
(real pages, no gold) are timed only.  Results are in docs/web.md.
"""

from __future__ import annotations

import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

WORDS = re.findall(r"\w+", """
the a of tower river city bridge engineer century museum built opened station design iron steel stone
painted north south council record metres visitors million second largest oldest public garden king
queen war treaty signed harbour railway cathedral library university founded""")


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(9, 22))]
    return " ".join(words).capitalize() + f" in {rng.randint(1500, 2020)}."


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(2, 5)))


def boilerplate(rng: random.Random) -> dict[str, str]:
    links = " ".join(f'<a href="/{w}">{w.title()} {rng.choice(WORDS)}</a>' for w in rng.sample(WORDS, 12))
    return {
        "nav": f"<nav>{links}</nav>",
        "cookie": "<div class='cookie'>We use cookies to improve your experience. Accept all cookies "
                  "or manage your preferences in settings.</div>",
        "side": "<aside><h3>Most read</h3>" + "".join(f"<p><a href='/s{i}'>{sentence(rng)}</a></p>"
                                                       for i in range(4)) + "</aside>",
        "comments": "<section class='comments'><h3>Comments</h3>" + "".join(
            f"<div class='comment'><b>user{i}</b><p>{sentence(rng)}</p></div>" for i in range(3))
        + "</section>",
        "footer": "<footer><p>Copyright 2024 Example Media Group. All rights reserved.</p>"
                  f"<p>{links}</p></footer>",
    }


def make_page(rng: random.Random, style: int) -> tuple[str, list[str]]:
    paras = [paragraph(rng) for _ in range(rng.randint(3, 9))]
    b = boilerplate(rng)
    title = sentence(rng)[:60]
    article = "".join(f"<p>{p}</p>" for p in paras)
    if style == 0:  # semantic HTML5
        body = f"{b['cookie']}<header>{b['nav']}</header><main><article><h1>{title}</h1>{article}</article>" \
               f"{b['comments']}</main>{b['side']}{b['footer']}"
    elif style == 1:  # div soup, no semantic tags
        side = b["side"].replace("aside", "div")
        body = (f"<div id='top'>{b['nav'].replace('nav', 'div')}</div><div class='wrap'><div class='c'>"
                f"<div class='t'>{title}</div>{article}</div><div class='r'>{side}"
                f"</div></div><div class='f'>{b['footer'].replace('footer', 'div')}</div>")
    elif style == 2:  # table layout
        body = (f"<table><tr><td colspan=2>{b['nav']}</td></tr><tr><td>{b['side']}</td><td><h2>{title}</h2>"
                f"{article}</td></tr><tr><td colspan=2>{b['footer']}</td></tr></table>")
    else:  # paragraphs as <br>-separated text in a div, plus comments
        text = "<br><br>".join(paras)
        body = f"{b['nav']}<div class='story'><h1>{title}</h1>{text}</div>{b['comments']}{b['footer']}"
    html = (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
            "<script>var x = 'tracking code';</script><style>p{color:red}</style></head>"
            f"<body>{body}</body></html>")
    return html, paras


def words(text: str) -> Counter[str]:
    return Counter(re.findall(r"\w+", text.lower()))


def score(extracted: str, gold: list[str]) -> tuple[float, float]:
    got, want = words(extracted), words(" ".join(gold))
    overlap = sum((got & want).values())
    return overlap / max(1, sum(got.values())), overlap / max(1, sum(want.values()))


def extractors() -> dict[str, Callable[[str], str]]:
    out: dict[str, Callable[[str], str]] = {}
    import trafilatura

    out["trafilatura"] = lambda h: trafilatura.extract(h, include_comments=False) or ""
    out["trafilatura fast"] = lambda h: trafilatura.extract(h, include_comments=False, fast=True) or ""
    out["all text (html2txt)"] = lambda h: trafilatura.html2txt(h) or ""
    try:
        import lxml.html
        from readability import Document

        out["readability-lxml"] = lambda h: lxml.html.fromstring(Document(h).summary()).text_content()
    except ImportError:
        print("readability-lxml not installed: skipped")
    try:
        from selectolax.lexbor import LexborHTMLParser

        def sx(h: str) -> str:
            tree = LexborHTMLParser(h)
            tree.strip_tags(["script", "style", "nav", "header", "footer", "aside", "form"])
            return tree.body.text(separator="\n") if tree.body else ""

        out["selectolax (tag stripping)"] = sx
    except ImportError:
        print("selectolax not installed: skipped")
    return out


def main() -> None:
    rng = random.Random(7)
    pages = [make_page(rng, i % 4) for i in range(80)]
    real = [p.read_text(errors="replace") for p in sorted(Path(sys.argv[1]).glob("**/*.html"))[:60]] \
        if len(sys.argv) > 1 else []
    print(f"{len(pages)} generated pages, {len(real)} real pages\n")
    print(f"{'extractor':28} {'precision':>9} {'recall':>7} {'F1':>6} {'ms/page':>8} {'ms/real page':>13}")
    for name, fn in extractors().items():
        ps, rs = [], []
        t0 = time.perf_counter()
        for html, gold in pages:
            p, r = score(fn(html), gold)
            ps.append(p)
            rs.append(r)
        gen_ms = (time.perf_counter() - t0) * 1000 / len(pages)
        t0 = time.perf_counter()
        for html in real:
            fn(html)
        real_ms = (time.perf_counter() - t0) * 1000 / max(1, len(real))
        p, r = statistics.mean(ps), statistics.mean(rs)
        print(f"{name:28} {p:9.3f} {r:7.3f} {2 * p * r / (p + r):6.3f} {gen_ms:8.1f} {real_ms:13.1f}")


if __name__ == "__main__":
    main()
