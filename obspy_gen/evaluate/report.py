"""Figures and the self-contained HTML page of an :class:`~obspy_gen.evaluate.EvaluationReport`.

Everything is drawn on :class:`matplotlib.figure.Figure` objects (no pyplot state, any
backend) and written atomically; the HTML page embeds the PNGs as base64 data URIs, so it
opens from a file, offline, with no server.
"""
from __future__ import annotations

import base64
import datetime
import html
import io
import json
import re
from pathlib import Path

import numpy as np

from obspy_gen.evaluate.core import DEFINITIONS, STATUS_OK


def _fmt(v, spec=".3f"):
    return "-" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, spec)


def _safe(name) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", str(name))


def _colors(report):
    from matplotlib import colormaps
    cmap = colormaps["tab10"]
    return {g: cmap(k % 10) for k, g in enumerate(report.groups)}


def _ceiling_text(summary):
    if not summary or summary.get("median") is None:
        return "ceiling -"
    return f"real-vs-real {summary['p05']:.3f}-{summary['p95']:.3f}"


def _iv(m, spec=".3f"):
    """``median [p05-p95]`` of an interval summary."""
    if not m or m.get("median") is None:
        return "-"
    return f"{format(m['median'], spec)} [{format(m['p05'], spec)}-{format(m['p95'], spec)}]"


def _ceil_range(c, spec=".3f"):
    if not c or c.get("median") is None:
        return "-"
    return f"{format(c['p05'], spec)}-{format(c['p95'], spec)}"


def _pass_text(ok):
    return "pass" if ok is True else "FAIL" if ok is False else "n/a"


def _primary_alignment(report):
    """Matched alignment (no diagonal) of the primary rule, first candidate group."""
    rule = report.rules[0] if report.rules else None
    per = report.alignment_matched.get(rule, {}).get("vs_reference", {})
    for g in report.candidates:
        if g in per:
            return g, per[g]["without_diagonal"]
    return None, None


def _new_figure(width, height, layout="constrained"):
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height), layout=layout)


def plot_similarity_matrix(report):
    """Heatmap of the similarity matrix with block lines, the alignment score and its ceiling.

    Parameters
    ----------
    report : EvaluationReport

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from obspy import read
    >>> from obspy_gen.evaluate import evaluate
    >>> rep = evaluate({"real": [read()], "copy": [read()]}, min_records=1, n_bootstrap=2)
    >>> plot_similarity_matrix(rep).axes[0].get_title().splitlines()[0]
    'alignment (all groups, all records, with diagonal) = -'
    """
    n = len(report.matrix_labels)
    size = min(14.0, 3.0 + 0.42 * n)
    fig = _new_figure(size + 1.2, size)
    ax = fig.add_subplot()
    m = np.ma.masked_invalid(report.matrix)
    from matplotlib import colormaps
    cmap = colormaps["viridis"].with_extremes(bad="0.85")
    im = ax.imshow(m, vmin=0, vmax=1, cmap=cmap, interpolation="nearest")
    labels = [f"{s} / {g}" for s, g in report.matrix_labels]
    ax.set_xticks(range(n), labels, rotation=90, fontsize=8)
    ax.set_yticks(range(n), labels, fontsize=8)
    ng = len(report.groups)
    for k in range(1, len(report.stations)):  # station blocks, as in the paper's Fig. 6
        ax.axhline(k * ng - 0.5, color="white", lw=1.5)
        ax.axvline(k * ng - 0.5, color="white", lw=1.5)
    if n <= 24:
        for i in range(n):
            for j in range(n):
                if np.isfinite(report.matrix[i, j]):
                    v = report.matrix[i, j]
                    ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6.5,
                            color="black" if v > 0.6 else "white")
    g, al = _primary_alignment(report)
    extra = "" if al is None else (f"\nmatched, no diagonal ({report.reference} + {g}): "
                                   f"{_iv(al['model'])}; {_ceiling_text(al['ceiling'])}")
    ax.set_title(f"alignment (all groups, all records, with diagonal) = "
                 f"{_fmt(report.alignment)}{extra}", fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.8,
                 label="1 - JSD" if report.js == "divergence" else "1 - sqrt(JSD)")
    return fig


def plot_f0_histograms(report, station):
    """f0 distributions of one station, one step histogram per group.

    Parameters
    ----------
    report : EvaluationReport
    station : str

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from obspy import read
    >>> from obspy_gen.evaluate import evaluate
    >>> rep = evaluate({"real": [read()]}, min_records=1, n_bootstrap=2)
    >>> plot_f0_histograms(rep, "RJOB").axes[0].get_xlabel()
    'f0 (Hz)'
    """
    fig = _new_figure(7.5, 4.0)
    ax = fig.add_subplot()
    colors = _colors(report)
    edges = report.edges
    for g in report.groups:
        d = report.distributions[station][g]
        if d.n_valid == 0:
            continue
        p = d.counts / d.counts.sum()
        fig_ = (report.scores.get(g, {}).get(station, {}).get("figures", {})
                .get(report.rules[0], {}).get("f0_similarity"))
        extra = "" if g == report.reference or fig_ is None else \
            f", sim {_iv(fig_['model'], '.2f')}"
        status = "" if d.status == STATUS_OK else f" [{d.status}]"
        ax.stairs(p, edges, color=colors[g], lw=2, fill=False,
                  label=f"{g} (n={d.n_valid}{extra}){status}")
        ax.stairs(p, edges, color=colors[g], alpha=0.15, fill=True)
    if report.spacing == "log":
        ax.set_xscale("log")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel("f0 (Hz)")
    ax.set_ylabel("probability")
    ceil = None
    for g in report.candidates:
        f = (report.scores.get(g, {}).get(station, {}).get("figures", {})
             .get(report.rules[0], {}).get("f0_similarity"))
        if f is not None:
            ceil = f["ceiling"]
            break
    ax.set_title(f"{station}: f0 distributions ({report.rules[0]}, {edges.size - 1} bins); "
                 f"similarity {_ceiling_text(ceil)}", fontsize=9)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    return fig


def plot_hvsr_curves(report, station):
    """Lognormal mean HVSR curve ± one σ of one station, one colour per group.

    Parameters
    ----------
    report : EvaluationReport
    station : str

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from obspy import read
    >>> from obspy_gen.evaluate import evaluate
    >>> rep = evaluate({"real": [read()]}, min_records=1, n_bootstrap=2)
    >>> plot_hvsr_curves(rep, "RJOB").axes[0].get_xscale()
    'log'
    """
    fig = _new_figure(7.5, 4.0)
    ax = fig.add_subplot()
    colors = _colors(report)
    lo, hi = report.f0_range
    ax.axvspan(lo, hi, color="tab:green", alpha=0.05)
    for g in report.groups:
        d = report.distributions[station][g]
        if d.n_used == 0:
            continue
        f = d.frequency
        if d.n_used > 1:
            ax.fill_between(f, d.mean * np.exp(-d.std_ln), d.mean * np.exp(d.std_ln),
                            color=colors[g], alpha=0.15)
        ax.plot(f, d.mean, color=colors[g], lw=2, label=f"{g} (n={d.n_used}, "
                f"median f0 {_fmt(d.f0_median, '.2f')} Hz)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("Frequency (Hz)")
    ax.set_ylabel("H/V (lognormal mean ± σ)")
    ax.set_title(f"{station}: mean HVSR curves", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    return fig


def plot_im_distributions(report, station):
    """Empirical CDFs of every IM of one station, one colour per group (None without IMs).

    Parameters
    ----------
    report : EvaluationReport
    station : str

    Returns
    -------
    matplotlib.figure.Figure or None

    Examples
    --------
    >>> from obspy import read
    >>> from obspy_gen.evaluate import evaluate
    >>> pga = lambda rec: {"pga": max(abs(tr.data).max() for tr in rec)}
    >>> rep = evaluate({"real": [read()]}, min_records=1, n_bootstrap=2, intensity=pga)
    >>> plot_im_distributions(rep, "RJOB").axes[0].get_xlabel()
    'log10 pga'
    """
    if not report.im.get("available") or not report.im.get("names"):
        return None
    names = report.im["names"]
    ncol = min(4, len(names))
    nrow = -(-len(names) // ncol)
    # Plain axes on log10 values and fixed margins: log-scaled axes with a layout engine cost
    # seconds per figure when there are a dozen panels.
    fig = _new_figure(3.2 * ncol, 2.6 * nrow + 0.6, layout=None)
    axes = fig.subplots(nrow, ncol, squeeze=False)
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.08, top=1 - 0.9 / (2.6 * nrow + 0.6),
                        wspace=0.3, hspace=0.6)
    axes = axes.ravel()
    colors = _colors(report)
    for ax, name in zip(axes, names):
        for g in report.groups:
            v = report.distributions[station][g].ims.get(name, np.zeros(0))
            v = np.sort(v[np.isfinite(v) & (v > 0)])
            if v.size == 0:
                continue
            x = np.log10(np.concatenate([v[:1], v]))
            ax.step(x, np.arange(v.size + 1) / v.size, where="post", color=colors[g], lw=1.8,
                    label=f"{g} (n={v.size})")
        ax.set_xlabel(f"log10 {name}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
        w, ceil = [], None
        for g in report.candidates:
            f = (report.scores.get(g, {}).get(station, {}).get("figures", {})
                 .get("ims", {}).get(name))
            if f is not None:
                w.append(f"{g}: W={_fmt(f['model']['median'], '.2f')}")
                ceil = f["ceiling"]
        if w:
            ax.set_title("; ".join(w) + f" (real {_ceil_range(ceil, '.2f')})", fontsize=7)
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(fontsize=7)
        axes[0].set_ylabel("ECDF", fontsize=8)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    fig.suptitle(f"{station}: intensity measures (W = Wasserstein distance of ln IM)",
                 fontsize=10)
    return fig


def _png(fig, dpi=100) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def figures(report):
    """All figures of a report: list of (file name, title, Figure).

    Examples
    --------
    >>> from obspy import read
    >>> from obspy_gen.evaluate import evaluate
    >>> rep = evaluate({"real": [read()]}, min_records=1, n_bootstrap=2, intensity=False)
    >>> [name for name, _, _ in figures(rep)]
    ['similarity_matrix.png', 'f0_RJOB.png', 'hvsr_RJOB.png']
    """
    out = [("similarity_matrix.png", "Similarity matrix", plot_similarity_matrix(report))]
    for s in report.stations:
        out.append((f"f0_{_safe(s)}.png", f"{s}: f0 distributions",
                    plot_f0_histograms(report, s)))
        out.append((f"hvsr_{_safe(s)}.png", f"{s}: mean HVSR curves",
                    plot_hvsr_curves(report, s)))
        fig = plot_im_distributions(report, s)
        if fig is not None:
            out.append((f"im_{_safe(s)}.png", f"{s}: intensity measures", fig))
    if getattr(report, "gmpe", None) is not None:
        from obspy_gen.evaluate import gmpe
        out.extend(gmpe.figures(report.gmpe))
    return out


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;
max-width:1150px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:0.6em 0 1.2em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right;font-size:0.9em}
th{background:#f2f2f2}td.l,th.l{text-align:left}
.bad{color:#a00}.ok{color:#070}.score{font-size:1.15em}
figure{margin:1.2em 0}img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:0.9em;color:#555}dt{font-weight:600;margin-top:0.4em}
"""

# Marks each figure once it has really been decoded and laid out (used by the tests' headless
# browser; harmless elsewhere).
_SCRIPT = """
window.addEventListener("load", function () {
  var imgs = document.querySelectorAll("img.figure"), ok = 0;
  imgs.forEach(function (img) {
    var good = img.complete && img.naturalWidth > 0;
    img.setAttribute("data-rendered", good ? "yes" : "no");
    if (good) { ok += 1; }
  });
  document.body.setAttribute("data-figures-rendered", ok + "/" + imgs.length);
});
"""


def render_html(report, pngs) -> str:
    """The report page: scores with ceilings, per-station table, issues, definitions, figures.

    Parameters
    ----------
    report : EvaluationReport
    pngs : list of (name, title, bytes)
        Figures to embed as base64 data URIs.

    Returns
    -------
    str

    Examples
    --------
    >>> from obspy import read
    >>> from obspy_gen.evaluate import evaluate
    >>> rep = evaluate({"real": [read()]}, min_records=1, n_bootstrap=2)
    >>> page = render_html(rep, [])
    >>> page.startswith("<!DOCTYPE html>"), "RJOB" in page
    (True, True)
    """
    from obspy_gen import __version__

    e = html.escape
    ref = report.reference
    others = report.candidates
    rule = report.rules[0] if report.rules else "-"
    group_text = ", ".join(f"{g} ({report.roles.get(g, '')})" for g in report.groups)
    parts = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
             "<title>obspy-gen evaluation</title>", f"<style>{_CSS}</style></head><body>",
             "<h1>obspy-gen evaluation</h1>",
             f"<p>Groups: {e(group_text)}"
             f" (reference: <b>{e(ref)}</b>); {len(report.stations)} station(s); training "
             f"records {'given' if report.training.get('given') else 'not given'}; f0 in "
             f"{report.f0_range[0]:g}-{report.f0_range[1]:g} Hz, {report.edges.size - 1} "
             f"{e(report.spacing)} bins; f0 rules {e(', '.join(report.rules))} (judged: "
             f"<b>{e(rule)}</b>); similarity = "
             f"{'1 - JSD' if report.js == 'divergence' else '1 - sqrt(JSD)'} (base-2 logs); "
             f"{report.n_bootstrap} matched replicates, seed {e(str(report.seed))}. "
             f"obspy-gen {e(__version__)}, "
             f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}.</p>"]

    v = report.verdict.get("overall", {})
    parts.append(f"<h2>Verdict: <span class={'bad' if v.get('pass') is False else 'ok'}>"
                 f"{_pass_text(v.get('pass'))}</span></h2>")
    parts.append("<p>Every figure below is given as <i>median [5-95 %]</i> over matched "
                 "replicates next to the same figure between real records of the same counts "
                 "(the ceiling). A figure fails when its interval lies entirely on the bad "
                 "side of the ceiling's; a score <b>above</b> the real-vs-real interval is not "
                 "a win (a generator that repeats one record per station separates stations "
                 "better than real records do). See the definitions at the end.</p>")
    for g, gv in report.verdict.get("groups", {}).items():
        parts.append(f"<h3>{e(g)} ({e(gv['role'])}): {_pass_text(gv['pass'])}</h3>")
        if gv["failing"]:
            parts.append("<ul>" + "".join(f"<li class=bad>{e(f)}</li>" for f in gv["failing"])
                         + "</ul>")
        unjudged = [f"{s}: {', '.join(x['not_judged'])}" for s, x in gv["stations"].items()
                    if x["not_judged"]]
        if unjudged:
            parts.append("<p>Not judged: " + e("; ".join(unjudged)) + "</p>")

    parts.append("<h2>Alignment scores</h2><table><tr><th class=l>f0 rule</th>"
                 "<th class=l>matrix</th><th>all records, with diagonal (paper)</th>"
                 "<th>all records, no diagonal</th><th>matched, with diagonal</th>"
                 "<th>ceiling</th><th>matched, no diagonal</th><th>ceiling</th>"
                 "<th>verdict</th></tr>")
    for r in report.rules:
        full = report.alignment_full.get(r, {})
        matched = report.alignment_matched.get(r, {})
        rows = [("all groups", full.get("all_groups", {}), matched.get("all_groups", {}))]
        rows += [(f"{ref} + {g}", full.get("vs_reference", {}).get(g, {}),
                  matched.get("vs_reference", {}).get(g, {})) for g in others]
        for name, f, m in rows:
            wd, nd = m.get("with_diagonal", {}), m.get("without_diagonal", {})
            parts.append(
                f"<tr><td class=l>{e(r)}</td><td class=l>{e(name)}</td>"
                f"<td class=score>{_fmt(f.get('with_diagonal'))}</td>"
                f"<td>{_fmt(f.get('without_diagonal'))}</td>"
                f"<td>{_iv(wd.get('model'))}</td><td>{_ceil_range(wd.get('ceiling'))}</td>"
                f"<td>{_iv(nd.get('model'))}</td><td>{_ceil_range(nd.get('ceiling'))}</td>"
                f"<td>{_pass_text(nd.get('pass'))}</td></tr>")
    parts.append("</table>")

    parts.append("<h2>Stations</h2><table><tr><th class=l>station</th>" +
                 "".join(f"<th>{e(g)}: n used / in bins</th><th>{e(g)}: median f0 (Hz)</th>"
                         for g in report.groups) + "</tr>")
    for s in report.stations:
        cells = []
        for g in report.groups:
            d = report.distributions[s][g]
            cls = "" if d.status == STATUS_OK else " class=bad"
            note = "" if d.status == STATUS_OK else f" ({e(d.status)})"
            cells.append(f"<td{cls}>{d.n_used} / {d.n_valid}{note}</td>"
                         f"<td>{_fmt(d.f0_median, '.2f')}</td>")
        parts.append(f"<tr><td class=l>{e(s)}</td>{''.join(cells)}</tr>")
    parts.append("</table>")

    names = {"f0_similarity": "f0 similarity", "f0_median_error": "f0 median error",
             "f0_spread_ratio": "f0 spread ratio", "f0_off_2x": "share off > 2x"}
    for g in others:
        parts.append(f"<h2>{e(g)} vs {e(ref)}: f0 figures</h2><table><tr>"
                     "<th class=l>station</th><th class=l>f0 rule</th><th>a / b</th>" +
                     "".join(f"<th>{e(n)}</th><th>real-vs-real</th>" for n in names.values())
                     + "</tr>")
        for s in report.stations:
            sc = report.scores.get(g, {}).get(s, {})
            for r in report.rules:
                figs = sc.get("figures", {}).get(r)
                if not figs:
                    if r == report.rules[0]:
                        parts.append(f"<tr><td class=l>{e(s)}</td><td class=l colspan=10>"
                                     f"{e(str(sc.get('status', 'missing')))}</td></tr>")
                    continue
                cells = "".join(
                    f"<td{' class=bad' if figs[k]['pass'] is False else ''}>"
                    f"{_iv(figs[k]['model'], '.2f')}</td>"
                    f"<td>{_ceil_range(figs[k]['ceiling'], '.2f')}</td>" for k in names)
                parts.append(f"<tr><td class=l>{e(s)}</td><td class=l>{e(r)}</td>"
                             f"<td>{sc['sizes'][0]} / {sc['sizes'][1]}</td>{cells}</tr>")
        parts.append("</table>")

    if report.im.get("available"):
        judged = set(report.im.get("judged", []))

        def judge_txt(name, f):
            return "yes: " + _pass_text(f["pass"]) if name in judged else "no"
        for g in others:
            parts.append(f"<h2>{e(g)} vs {e(ref)}: intensity measures (Wasserstein distance of "
                         "ln IM)</h2><table><tr><th class=l>station</th><th class=l>IM</th>"
                         "<th>all records</th><th>matched</th><th>real-vs-real</th>"
                         "<th>real-vs-real median</th><th>judged</th></tr>")
            for s in report.stations:
                ims = report.scores.get(g, {}).get(s, {}).get("figures", {}).get("ims", {})
                for name, f in ims.items():
                    bad = " class=bad" if f["pass"] is False and name in judged else ""
                    parts.append(f"<tr><td class=l>{e(s)}</td><td class=l>{e(name)}</td>"
                                 f"<td>{_fmt(f['full_sets'])}</td><td{bad}>"
                                 f"{_iv(f['model'])}</td><td>{_ceil_range(f['ceiling'])}</td>"
                                 f"<td>{_fmt(f['ceiling']['median'])}</td>"
                                 f"<td>{judge_txt(name, f)}</td></tr>")
            parts.append("</table>")
    else:
        parts.append(f"<p>Intensity measures: not computed ({e(str(report.im.get('reason')))})."
                     "</p>")

    if report.memorisation:
        parts.append("<h2>Memorisation and mixing</h2><p>Per record: max NCC (lag-searched) "
                     "and mixing R² against each comparison set; median [bootstrap 90 %] and "
                     "share of copies (NCC &ge; 0.95), next to the held-out real records' "
                     "figures.</p><table><tr><th class=l>group</th><th class=l>station</th>"
                     "<th class=l>against</th><th>max NCC</th><th>held-out real</th>"
                     "<th>copies</th><th>real copies</th><th>mixing R²</th>"
                     "<th>held-out real</th><th>verdict</th></tr>")
        for g in others:
            for s, m in report.memorisation.get(g, {}).items():
                for part in ("training", "reference", "diversity"):
                    x = m.get(part)
                    if x is None:
                        continue
                    ok = x["ncc"]["pass"] is not False and (
                        part == "diversity" or x["r2"]["pass"] is not False)
                    verdict = _pass_text(ok) if m.get("judged") else "not judged"
                    r2 = ("-", "-") if part == "diversity" else (
                        _iv(x["r2"]["model"]), _iv(x["r2"]["held_out"]))
                    parts.append(
                        f"<tr><td class=l>{e(g)}</td><td class=l>{e(s)}</td>"
                        f"<td class=l>{e(x['against'])}</td><td>{_iv(x['ncc']['model'])}</td>"
                        f"<td>{_iv(x['ncc']['held_out'])}</td>"
                        f"<td>{_fmt(x['ncc']['model']['share_copies'], '.2f')}</td>"
                        f"<td>{_fmt(x['ncc']['held_out']['share_copies'], '.2f')}</td>"
                        f"<td>{r2[0]}</td><td>{r2[1]}</td>"
                        f"<td{' class=bad' if verdict == 'FAIL' else ''}>{verdict}</td></tr>")
        parts.append("</table>")

    if report.issues:
        parts.append(f"<h2>Issues ({len(report.issues)})</h2><ul>")
        for it in report.issues:
            where = "/".join(str(x) for x in (it["group"], it["station"], it["record"])
                             if x is not None)
            parts.append(f"<li class=bad>{e(where)}: {e(it['reason'])}</li>")
        parts.append("</ul>")

    if getattr(report, "gmpe", None) is not None:
        from obspy_gen.evaluate import gmpe
        parts.append(gmpe.html_section(report.gmpe))

    parts.append("<h2>Figures</h2>")
    for name, title, data in pngs:
        uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        parts.append(f"<figure><img class=figure alt=\"{e(title)}\" data-figure=\"{e(name)}\" "
                     f"src=\"{uri}\"><figcaption>{e(title)} ({e(name)})</figcaption></figure>")

    parts.append("<h2>Definitions</h2><dl>")
    for k, v in DEFINITIONS.items():
        parts.append(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>")
    parts.append(f"<dt>HVSR settings</dt><dd><code>{e(json.dumps(report.settings.to_dict()))}"
                 f"</code></dd><dt>resampling</dt><dd>{report.n_bootstrap} matched replicates, "
                 f"seed {e(str(report.seed))}</dd></dl>")
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(parts)


def write_report(report, out, dpi=100) -> list:
    """Write ``report.json``, the PNG figures and ``report.html`` into the folder ``out``.

    Every file is written atomically (temporary file, then rename). The HTML page embeds the
    figures, so it can be moved or mailed alone.

    Parameters
    ----------
    report : EvaluationReport
    out : str or path
        Output folder (created).
    dpi : int
        Resolution of the PNGs.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Examples
    --------
    >>> import tempfile
    >>> from obspy import read
    >>> from obspy_gen.evaluate import evaluate
    >>> rep = evaluate({"real": [read()]}, min_records=1, n_bootstrap=2)
    >>> [p.name for p in write_report(rep, tempfile.mkdtemp())][-2:]
    ['report.json', 'report.html']
    """
    from obspy_gen.io.atomic import atomic_write

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written, pngs = [], []
    for name, title, fig in figures(report):
        data = _png(fig, dpi)  # rendered once: the same bytes go to the file and the page
        atomic_write(out / name, data)
        written.append(out / name)
        pngs.append((name, title, data))
    d = report.to_dict()
    d["figures"] = [name for name, _, _ in pngs]
    atomic_write(out / "report.json", json.dumps(d, indent=1, allow_nan=False))
    written.append(out / "report.json")
    atomic_write(out / "report.html", render_html(report, pngs))
    written.append(out / "report.html")
    return written
