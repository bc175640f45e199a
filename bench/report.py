"""Print the latest benchmark results (bench/results/*.jsonl) as Markdown tables for docs/BENCHMARKS.md."""

import json
import re

from common import RESULTS


def viewer_of(rec):
    """Queue page records: who asked (supervisor / associate) and whether for the htmx poll (partial)."""
    return rec.get("viewer", "supervisor"), bool(rec.get("partial"))


def latest(name, variants=False):
    """Last record per label. Queue page records asked as an associate or for the poll are left out unless
    ``variants`` (then keyed by (label, viewer, partial))."""
    path = RESULTS / f"{name}.jsonl"
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            if re.fullmatch(r"\d+[kM]?", str(rec.get("label"))):  # smoke / dev runs use other labels
                if variants:
                    out[(rec.get("label"), *viewer_of(rec))] = rec
                elif viewer_of(rec) == ("supervisor", False):
                    out[rec.get("label")] = rec
    return out


def order(label):
    mult = {"k": 1_000, "M": 1_000_000}
    try:
        return float(label[:-1]) * mult[label[-1]] if label[-1] in mult else float(label)
    except (ValueError, IndexError):
        return 0


def _table(header, rows):
    """A Markdown table: the header cells, then one row of cells per item, then a blank line."""
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for cells in rows:
        print("| " + " | ".join(str(c) for c in cells) + " |")
    print()


def _page_cpu(page, part):
    """A page's median CPU ms a request of ``part`` (server, database, wrk); results older than it have none."""
    return (page.get("median_cpu_ms_per_request") or {}).get(part, "—")


def _by_scale(records):
    return sorted(records.items(), key=lambda kv: order(kv[0]))


def main():
    queue, helpdesk = latest("queue_page"), latest("helpdesk")
    if queue:
        print("### Queue page and its list (server time in-process, ms; queries per request)\n")
        print("The page shows a fixed head of the queue; 25 / 100 rows are asked of its selector.\n")
        header = (
            "cases|rows|page median|page p95|page queries|page rows shown|selector median|selector queries|raw SQL "
            "median|selector ÷ raw|page ÷ raw|helpdesk median|helpdesk p95|helpdesk queries|helpdesk ÷ page (time)"
            "|helpdesk ÷ page (queries)"
        ).split("|")
        table = []
        for label in sorted(queue, key=order):
            q = queue[label]
            h = helpdesk.get(label)
            for rows, r in q["rows"].items():
                hd = h["rows"].get(rows) if h else None
                sel = r.get("selector") or {}
                page = r["ours"]
                cells = [
                    label,
                    rows,
                    page["median_ms"],
                    page["p95_ms"],
                    r["queries"],
                    r["rows_of_raw_shown_on_page"],
                    sel.get("time", {}).get("median_ms", "—"),
                    sel.get("queries", "—"),
                    r["raw_sql"]["median_ms"],
                    sel.get("ratio_median_over_raw", "—"),
                    r["ratio_median_ours_over_raw"],
                ]
                if hd:
                    cells += [
                        hd["helpdesk"]["median_ms"],
                        hd["helpdesk"]["p95_ms"],
                        hd["queries"],
                        round(hd["helpdesk"]["median_ms"] / page["median_ms"], 1),
                        round(hd["queries"] / r["queries"], 1),
                    ]
                else:
                    cells += ["—"] * 5
                table.append(cells)
        _table(header, table)
    boards = latest("queue_page", variants=True)
    if any(key[1:] != ("supervisor", False) for key in boards):
        print("### Queue board by viewer (full page and the 3 s poll; in-process, ms)\n")
        _table(
            ["cases", "viewer", "request", "rows", "median", "p95", "queries (max / min)", "selector ÷ raw"],
            [
                [
                    label,
                    viewer,
                    "poll" if partial else "page",
                    rows,
                    r["ours"]["median_ms"],
                    r["ours"]["p95_ms"],
                    f"{r['queries']} / {r.get('queries_min', '—')}",
                    (r.get("selector") or {}).get("ratio_median_over_raw", "—"),
                ]
                for (label, viewer, partial), rec in sorted(boards.items(), key=lambda kv: (order(kv[0][0]), kv[0][1:]))
                for rows, r in rec["rows"].items()
            ],
        )
    for label, rec in _by_scale(latest("take_next")):
        print(f"### Take-next at {label} cases ({rec['waiting']:,} waiting), {rec['seconds']} s runs, medians\n")
        _table(
            ["associates", "ours claims/s", "raw claims/s", "ours ÷ raw", "ours p99 ms", "raw p99 ms", "double claims"],
            [
                [
                    n,
                    lv["ours_median_per_s"],
                    lv["raw_median_per_s"],
                    lv["ratio_ours_over_raw"],
                    lv["ours_median_p99_ms"],
                    lv["raw_median_p99_ms"],
                    lv["ours_double_claims_total"] + lv["raw_double_claims_total"],
                ]
                for n, lv in rec["levels"].items()
            ],
        )
        seconds = {
            mode: (rec["levels"].get("16", {}).get(mode) or [{}])[0].get("per_second") for mode in ("ours", "raw")
        }
        if seconds["ours"] and seconds["raw"]:  # results from before the series was recorded have none
            print(f"Within the first run at 16 associates ({label}), second by second: claims, p99 ms\n")
            _table(
                ["second", "ours claims", "ours p99", "raw claims", "raw p99"],
                [
                    [o["second"], o["claims"], o.get("p99_ms", "—"), r["claims"], r.get("p99_ms", "—")]
                    for o, r in zip(seconds["ours"], seconds["raw"], strict=False)
                ],
            )
    for label, rec in _by_scale(latest("http_load")):
        print(
            f"### Page throughput at {label} cases (wrk, {rec['connections']} connections, gunicorn {rec['gunicorn']})\n"
        )
        _table(
            ["page", "req/s (median)", "p50 ms", "p99 ms", "share of hello req/s", "non-2xx",
             "CPU ms a request: server", "PostgreSQL", "wrk"],
            [
                [
                    name,
                    p["median_req_per_s"],
                    p["median_p50_ms"],
                    p["median_p99_ms"],
                    p.get("share_of_hello_req_per_s", 1.0),
                    p["non_2xx"],
                    _page_cpu(p, "server"),
                    _page_cpu(p, "database"),
                    _page_cpu(p, "wrk"),
                ]
                for name, p in rec["pages"].items()
            ],
        )  # fmt: skip
    for label, rec in _by_scale(latest("live_chat")):
        print(
            f"### Live chat at {label} cases ({rec['conversations']} conversations, {rec['seconds']} s, "
            f"HTTP errors {rec['http_errors']})\n"
        )
        _table(
            ["direction", "messages", "never seen", "p50 ms", "p95 ms", "max ms"],
            [
                [name, d["messages"], d["never_seen"], d["p50_ms"], d["p95_ms"], d["max_ms"]]
                for name, d in ((n, rec[n]) for n in ("customer_to_agent", "agent_to_customer", "all"))
            ],
        )
    for label, rec in _by_scale(latest("sla_sweep")):
        print(
            f"### SLA sweep at {label} cases ({rec['sweeps']} full sweeps per scenario, medians; {rec['date_utc']})\n"
        )
        _table(
            ["scenario", "open", "due", "index used", "one batch query", "full sweep", "per due case"],
            [
                [
                    name,
                    f"{sc['open']:,}",
                    f"{sc['due']:,}",
                    "yes" if sc["uses_index"] else "NO",
                    f"{sc['batch_query_median_ms']} ms",
                    f"{sc['full_sweep_median_s']} s",
                    f"{sc['per_case_ms']} ms",
                ]
                for name, sc in rec["scenarios"].items()
            ],
        )
        print(f"Full sweep B ÷ A = {rec['ratio_b_over_a']}\n")
    targets()


def _verdict(ok):
    return "met" if ok else "**missed**"


def targets():
    """The issue's targets against the latest records (a target whose record is missing is said so)."""
    rows = []
    queue, helpdesk = latest("queue_page"), latest("helpdesk")
    boards = latest("queue_page", variants=True)
    if queue:
        most = max(r["queries"] for q in boards.values() for r in q["rows"].values())
        rows.append(("Queue page: ≤ 8 queries whatever the page size or data", f"max {most}", most <= 8))
        big = queue.get("1M")
        if big:
            p95 = max(r["ours"]["p95_ms"] for key, q in boards.items() if key[0] == "1M" for r in q["rows"].values())
            rows.append(("Queue page: p95 < 100 ms at 1,000,000 cases", f"{p95} ms", p95 < 100))
            worst = max(
                (r.get("selector") or {}).get("ratio_median_over_raw", r["ratio_median_ours_over_raw"])
                for key, q in boards.items()
                if key[0] == "1M"
                for r in q["rows"].values()
            )
            rows.append(("Case list within 3× of hand-written SQL (1M)", f"{worst}×", worst <= 3))
        q50, h50 = queue.get("50k"), helpdesk.get("50k")
        if q50 and h50:
            for size, r in q50["rows"].items():
                hd = h50["rows"].get(size)
                if hd:
                    qr = hd["queries"] / r["queries"]
                    tr = hd["helpdesk"]["median_ms"] / r["ours"]["median_ms"]
                    rows.append(
                        (f"vs django-helpdesk at 50k, {size} rows: ≥ 10× fewer queries", f"{qr:.1f}×", qr >= 10)
                    )
                    rows.append((f"vs django-helpdesk at 50k, {size} rows: ≥ 5× less time", f"{tr:.1f}×", tr >= 5))
    for label, rec in latest("take_next").items():
        lv = rec["levels"]
        if "16" in lv:
            r16 = lv["16"]
            rows.append(
                (
                    f"Take-next ≥ 40 % of raw at 16 ({label})",
                    f"{r16['ratio_ours_over_raw']:.0%}",
                    r16["ratio_ours_over_raw"] >= 0.4,
                )
            )
            rows.append(
                (
                    f"Take-next p99 < 25 ms at 16 ({label})",
                    f"{r16['ours_median_p99_ms']} ms",
                    r16["ours_median_p99_ms"] < 25,
                )
            )
            if "64" in lv:
                keep = lv["64"]["ours_median_per_s"] / max(r16["ours_median_per_s"], 1e-9)
                rows.append((f"Take-next at 64 ≥ 90 % of the 16 rate ({label})", f"{keep:.0%}", keep >= 0.9))
        doubles = sum(v["ours_double_claims_total"] + v["raw_double_claims_total"] for v in lv.values())
        rows.append((f"Take-next: zero double claims ({label})", str(doubles), doubles == 0))
    for label, rec in latest("sla_sweep").items():
        rows.append(
            (
                f"SLA sweep 1M open within 1.2× of 100k open ({label})",
                f"{rec['ratio_b_over_a']}×",
                rec["ratio_b_over_a"] <= 1.2,
            )
        )
    for label, rec in latest("http_load").items():
        ws = rec["pages"].get("workspace")
        if ws and "share_of_hello_req_per_s" in ws:
            share = ws["share_of_hello_req_per_s"]
            rows.append((f"Workspace page ≥ 30 % of hello req/s ({label})", f"{share:.1%}", share >= 0.3))
    for label, rec in latest("live_chat").items():
        p95 = rec["all"]["p95_ms"]
        rows.append((f"Live chat p95 < 1 s, {rec['conversations']} conversations ({label})", f"{p95} ms", p95 < 1000))
    if not rows:
        return
    print("### Targets\n")
    _table(["target", "measured", "verdict"], [[name, figure, _verdict(ok)] for name, figure, ok in rows])


if __name__ == "__main__":
    main()
