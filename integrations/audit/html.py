"""``report.html``: one self-contained page (no network, no external assets) a person can read.

Charts are inline SVG drawn here rather than by a JavaScript library, so the page renders the
same when opened from a mail attachment, a CI artifact or an air-gapped machine, and stays
readable with JavaScript off (the script only adds filtering).
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from .checkpoint import AuditDir
from .results import is_unverified

__all__ = ["render_html"]

VERDICT_COLORS = {"supported": "#2e7d32", "unsupported": "#e0a100", "contradicted": "#c62828"}
UNVERIFIED_COLOR = "#9e9e9e"
_RANK = {"contradicted": 3, "unsupported": 2, "supported": 1}
PASSAGE_CHARS = 600  # the drill-down shows the start of each passage; report.jsonl has the rest
_MARKER = re.compile(r"\[\^?([A-Za-z_-]*)(\d+)\]")  # the marker syntax guardrail recognises


def render_html(adir: AuditDir, summary: Mapping[str, Any], *, max_records: int = 500) -> Path:
    env = Environment(
        loader=PackageLoader("guardrail.integrations.audit", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = _pct
    env.filters["num"] = _num
    records, shown_of = _pick_records(adir, max_records)
    groups = summary.get("by_group", {})
    hist = summary.get("histograms", {})
    charts = {
        "groups": [
            (
                name,
                bar_chart([(v, s["hallucination_rate"] or 0.0, s["records"]) for v, s in table.items()], fmt=_pct),
            )
            for name, table in groups.items()
            if table
        ],
        "response": histogram(
            hist.get("edges", []),
            {"responses": hist.get("response_score", [])},
            threshold=summary.get("thresholds", {}).get("support"),
            colors={"responses": "#3f51b5"},
        ),
        "claims": histogram(
            hist.get("edges", []),
            hist.get("claim_score", {}),
            threshold=summary.get("thresholds", {}).get("support"),
            colors=VERDICT_COLORS,
        ),
        "verdicts": stacked_bar(summary.get("verdicts", {}), {**VERDICT_COLORS, "unverified": UNVERIFIED_COLOR}),
        "citations": [
            (
                name,
                bar_chart([(v, s["recall"] or 0.0, s["records_with_citations"]) for v, s in table.items()], fmt=_pct),
            )
            for name, table in summary.get("citations", {}).get("by_group", {}).items()
            if table
        ],
    }
    html = env.get_template("report.html.j2").render(
        s=summary,
        charts=charts,
        records=records,
        shown_lines={r["line"] for r in records},  # links to records not drawn below would be dead
        shown_of=shown_of,
        rejects=adir.rejected()[:200],
        colors=VERDICT_COLORS,
        group_names=sorted(groups),
    )
    adir.html.write_text(html, encoding="utf-8")
    return adir.html


# -- records -----------------------------------------------------------------------------


def _pick_records(adir: AuditDir, limit: int) -> tuple[list[dict[str, Any]], int]:
    """The records worth a drill-down first: hallucinated (weakest first), bad citations, the rest."""
    total = 0

    def rows() -> Iterator[dict[str, Any]]:
        nonlocal total
        for r in adir.results():
            if r.get("status") in ("checked", "error"):
                total += 1
                yield r

    def priority(r: Mapping[str, Any]) -> tuple:
        bad_cites = sum(not c.get("supports") for c in r.get("citations", ()))
        return (
            r.get("status") != "error",
            not r.get("hallucinated"),
            bad_cites == 0,
            r.get("score", 1.0),
            r.get("line", 0),
        )

    # A bounded heap, not a sort: only ``limit`` records are held, however big the audit is.
    chosen = heapq.nsmallest(limit, rows(), key=priority)
    chosen.sort(key=lambda r: r.get("line", 0))
    return [_view(r) for r in chosen], total


def _view(r: Mapping[str, Any]) -> dict[str, Any]:
    # Unchecked claims are neither highlighted nor listed as flagged (their "unsupported" is a
    # placeholder, and an over-long answer has thousands); one line under the answer says so.
    claims, notes = [], list(r.get("errors") or ())
    unverified: dict[str, int] = {}
    for i, c in enumerate(r.get("claims", ()), start=1):
        if is_unverified(c):
            reason = str(next(iter(c.get("issues") or ()), "not verified"))
            unverified[reason] = unverified.get(reason, 0) + 1
        else:
            claims.append(dict(c, n=i))
    notes += [f"{n} claim{'s' if n != 1 else ''} {reason}" for reason, n in unverified.items()]
    passages = {p.get("id"): p for p in r.get("passages", ()) if p.get("id")}
    shown = [
        dict(p, text=p["text"][:PASSAGE_CHARS] + "…") if len(p.get("text") or "") > PASSAGE_CHARS else p
        for p in r.get("passages", ())
    ]
    bad_cites = []
    for c in r.get("citations", ()):
        if not c.get("supports"):
            p = passages.get(c.get("passage_id")) or {}
            bad_cites.append(
                dict(
                    c,
                    sentence=r.get("answer", "")[c["start"] : c["end"]],
                    passage_label=p.get("title") or c.get("passage_id") or "no such passage",
                )
            )
    return dict(
        r,
        claims=claims,
        errors=notes,
        passages=shown,
        segments=segments(r.get("answer", ""), claims, r.get("citations", ())),
        bad_citations=bad_cites,
        search=" ".join([str(r.get("id")), r.get("question") or "", r.get("answer", "")]).lower()[:4000],
    )


def segments(
    answer: str, claims: Sequence[Mapping[str, Any]], citations: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Cut the answer at every claim, cited-sentence and marker boundary, so each piece knows
    its worst claim verdict, whether it sits in a sentence a citation fails, and whether it is
    a citation marker (and if that marker supports its sentence)."""
    markers = list(_MARKER.finditer(answer))
    cite_of_marker: list[Mapping[str, Any] | None] = [None] * len(markers)
    if len(markers) == len(citations):  # the engine reports markers in text order
        cite_of_marker = list(citations)
    else:
        for i, m in enumerate(markers):
            cite_of_marker[i] = next(
                (c for c in citations if c.get("marker") == m.group(0) and c["start"] <= m.start() <= c["end"] + 3),
                None,
            )
    bad_sentences = [(c["start"], c["end"]) for c in citations if not c.get("supports")]
    cuts = {0, len(answer)}
    for c in claims:
        cuts.update((max(0, c["start"]), min(len(answer), c["end"])))
    for s, e in bad_sentences:
        cuts.update((max(0, s), min(len(answer), e)))
    for m in markers:
        cuts.update((m.start(), m.end()))
    bounds = sorted(cuts)
    out: list[dict[str, Any]] = []
    for a, b in itertools.pairwise(bounds):
        if a >= b:
            continue
        covering = [c for c in claims if c["start"] <= a and b <= c["end"]]
        worst = max(covering, key=lambda c: (_RANK.get(c["verdict"], 0), -c["n"]), default=None)
        marker_i = next((i for i, m in enumerate(markers) if m.start() == a and m.end() == b), None)
        seg: dict[str, Any] = {
            "text": answer[a:b],
            "verdict": worst["verdict"] if worst else None,
            "claim": worst["n"] if worst else None,
            "score": worst["score"] if worst else None,
            "bad_cite": any(s <= a and b <= e for s, e in bad_sentences),
        }
        if marker_i is not None:
            cite = cite_of_marker[marker_i]
            seg["marker"] = {
                "supports": bool(cite and cite.get("supports")),
                "passage": cite.get("passage_id") if cite else None,
            }
        out.append(seg)
    return out


# -- charts ------------------------------------------------------------------------------


def bar_chart(rows: Sequence[tuple[str, float, int]], *, fmt: Any = str, width: int = 520) -> Markup:
    """Horizontal bars, one per (label, value in [0, 1], n)."""
    bar_h, gap, label_w, right = 22, 8, 150, 90
    h = len(rows) * (bar_h + gap) + gap
    inner = width - label_w - right
    parts = [
        f'<svg class="chart bar-chart" role="img" viewBox="0 0 {width} {h}" width="{width}" '
        f'height="{h}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, value, n) in enumerate(rows):
        y = gap + i * (bar_h + gap)
        w = max(1.0, inner * max(0.0, min(1.0, value)))
        parts.append(
            f'<text x="{label_w - 8}" y="{y + bar_h * 0.7:.1f}" text-anchor="end" class="lbl">'
            f"{escape(_short(label, 22))}</text>"
        )
        parts.append(f'<rect x="{label_w}" y="{y}" width="{inner}" height="{bar_h}" class="track"/>')
        parts.append(
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" class="bar" '
            f'fill="{_heat(value)}"><title>{escape(label)}: {escape(fmt(value))} of {n}</title>'
            "</rect>"
        )
        parts.append(
            f'<text x="{label_w + inner + 8}" y="{y + bar_h * 0.7:.1f}" class="val">{escape(fmt(value))} · n={n}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def histogram(
    edges: Sequence[float],
    series: Mapping[str, Sequence[int]],
    *,
    threshold: float | None,
    colors: Mapping[str, str],
    width: int = 520,
    height: int = 220,
) -> Markup:
    """Score histogram; several series stack.  A dashed line marks the support threshold."""
    bins = max(len(edges) - 1, 1)
    left, bottom, top = 36, 28, 10
    inner_w, inner_h = width - left - 10, height - bottom - top
    totals = [sum(s[i] for s in series.values() if i < len(s)) for i in range(bins)]
    peak = max([*totals, 1])
    bw = inner_w / bins
    parts = [
        f'<svg class="chart histogram" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{left}" y1="{top + inner_h}" x2="{left + inner_w}" y2="{top + inner_h}" class="axis"/>',
        f'<text x="{left - 6}" y="{top + 8}" text-anchor="end" class="tick">{peak}</text>',
        f'<text x="{left - 6}" y="{top + inner_h}" text-anchor="end" class="tick">0</text>',
    ]
    for i in range(bins):
        x = left + i * bw
        y = top + inner_h
        for name, counts in series.items():
            c = counts[i] if i < len(counts) else 0
            if not c:
                continue
            bh = inner_h * c / peak
            y -= bh
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{bw - 2:.1f}" height="{bh:.1f}" '
                f'fill="{colors.get(name, "#3f51b5")}"><title>{escape(name)} {edges[i]:.1f}–'
                f"{edges[i + 1]:.1f}: {c}</title></rect>"
            )
    for i in range(0, bins + 1, max(1, bins // 5)):
        parts.append(
            f'<text x="{left + i * bw:.1f}" y="{height - 10}" text-anchor="middle" class="tick">'
            f"{edges[i] if i < len(edges) else 1:.1f}</text>"
        )
    if threshold is not None:
        tx = left + inner_w * threshold
        parts.append(
            f'<line x1="{tx:.1f}" y1="{top}" x2="{tx:.1f}" y2="{top + inner_h}" class="threshold"/>'
            f'<text x="{tx + 4:.1f}" y="{top + 10}" class="tick">threshold {threshold:.2f}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_bar(counts: Mapping[str, int], colors: Mapping[str, str], *, width: int = 520) -> Markup:
    total = sum(counts.values()) or 1
    parts = [
        f'<svg class="chart stacked" role="img" viewBox="0 0 {width} 34" width="{width}" height="34" '
        'xmlns="http://www.w3.org/2000/svg">'
    ]
    x = 0.0
    for name, n in counts.items():
        w = width * n / total
        if w <= 0:
            continue
        parts.append(
            f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="34" fill="{colors.get(name, "#999")}">'
            f"<title>{escape(name)}: {n}</title></rect>"
        )
        if w > 60:
            parts.append(f'<text x="{x + 6:.1f}" y="22" class="inbar">{escape(name)} {n}</text>')
        x += w
    parts.append("</svg>")
    return Markup("".join(parts))


def _heat(v: float) -> str:
    """Green to red by hallucination rate, so the worst group stands out."""
    v = max(0.0, min(1.0, v))
    r, g = int(46 + (198 - 46) * v), int(125 + (40 - 125) * v)
    return f"#{r:02x}{g:02x}32"


def _pct(v: Any) -> str:
    return "–" if v is None else f"{float(v) * 100:.1f}%"


def _num(v: Any, digits: int = 2) -> str:
    return "–" if v is None else f"{float(v):.{digits}f}"


def _short(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"
