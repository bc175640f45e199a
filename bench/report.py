"""Print the latest benchmark results (bench/results/*.jsonl) as Markdown tables for docs/BENCHMARKS.md."""

import json
import re

from common import RESULTS


def latest(name):
    """Last record per label."""
    path = RESULTS / f"{name}.jsonl"
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            if re.fullmatch(r"\d+[kM]?", str(rec.get("label"))):  # smoke / dev runs use other labels
                out[rec.get("label")] = rec
    return out


def order(label):
    mult = {"k": 1_000, "M": 1_000_000}
    try:
        return float(label[:-1]) * mult[label[-1]] if label[-1] in mult else float(label)
    except (ValueError, IndexError):
        return 0


def main():
    queue, helpdesk = latest("queue_page"), latest("helpdesk")
    if queue:
        print("### Queue page and its list (server time in-process, ms; queries per request)\n")
        print("The page shows a fixed head of the queue; 25 / 100 rows are asked of its selector.\n")
        print(
            "| cases | rows | page median | page p95 | page queries | page rows shown | selector median | selector "
            "queries | raw SQL median | selector ÷ raw | page ÷ raw | helpdesk median | helpdesk p95 | helpdesk queries "
            "| helpdesk ÷ page (time) | helpdesk ÷ page (queries) |"
        )
        print("|" + "---|" * 16)
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
                print("| " + " | ".join(str(c) for c in cells) + " |")
        print()
    tn = latest("take_next")
    for label, rec in sorted(tn.items(), key=lambda kv: order(kv[0])):
        print(f"### Take-next at {label} cases ({rec['waiting']:,} waiting), {rec['seconds']} s runs, medians\n")
        print("| associates | ours claims/s | raw claims/s | ours ÷ raw | ours p99 ms | raw p99 ms | double claims |")
        print("|---|---|---|---|---|---|---|")
        for n, lv in rec["levels"].items():
            doubles = lv["ours_double_claims_total"] + lv["raw_double_claims_total"]
            print(
                f"| {n} | {lv['ours_median_per_s']} | {lv['raw_median_per_s']} | {lv['ratio_ours_over_raw']} "
                f"| {lv['ours_median_p99_ms']} | {lv['raw_median_p99_ms']} | {doubles} |"
            )
        print()
    http = latest("http_load")
    for label, rec in sorted(http.items(), key=lambda kv: order(kv[0])):
        print(
            f"### Page throughput at {label} cases (wrk, {rec['connections']} connections, gunicorn {rec['gunicorn']})\n"
        )
        print("| page | req/s (median) | p50 ms | p99 ms | share of hello req/s | non-2xx |")
        print("|---|---|---|---|---|---|")
        for name, p in rec["pages"].items():
            print(
                f"| {name} | {p['median_req_per_s']} | {p['median_p50_ms']} | {p['median_p99_ms']} "
                f"| {p.get('share_of_hello_req_per_s', 1.0)} | {p['non_2xx']} |"
            )
        print()
    chat = latest("live_chat")
    for label, rec in sorted(chat.items(), key=lambda kv: order(kv[0])):
        print(
            f"### Live chat at {label} cases ({rec['conversations']} conversations, {rec['seconds']} s, "
            f"HTTP errors {rec['http_errors']})\n"
        )
        print("| direction | messages | never seen | p50 ms | p95 ms | max ms |")
        print("|---|---|---|---|---|---|")
        for name in ("customer_to_agent", "agent_to_customer", "all"):
            d = rec[name]
            print(f"| {name} | {d['messages']} | {d['never_seen']} | {d['p50_ms']} | {d['p95_ms']} | {d['max_ms']} |")
        print()


if __name__ == "__main__":
    main()
