#!/usr/bin/env python3
"""Turns bench/e2e.sh's results.tsv into Markdown tables: medians per workload, mailbox count and kind."""
import statistics
import sys
from collections import defaultdict

rows = defaultdict(list)
order = []
for line in open(sys.argv[1], encoding="utf-8"):
    wl, mailboxes, kind, rnd, msgs, size, wall, cpu, rss, status, fetching = line.rstrip("\n").split("\t")
    key = (wl, int(mailboxes))
    if key not in order:
        order.append(key)
    rows[key].append(dict(kind=kind, round=int(rnd), msgs=int(msgs), bytes=int(size), wall=float(wall),
                          cpu=float(cpu), rss=int(rss) / 1024, status=status,
                          fetching=None if fetching == "-" else float(fetching)))


def med(values):
    return statistics.median(values) if values else float("nan")


if order and not all(wl.startswith("mem:") for wl, _ in order):
    print("| workload | mailboxes | runs | ceiling msg/s | ceiling MB/s | ceiling CPU s | ceiling RSS MiB "
          "| engine msg/s | engine MB/s | engine CPU s | engine RSS MiB | engine / ceiling (msg/s) | CPU, engine / ceiling |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
memory = []
phases = []
for key in order:
    wl, mailboxes = key
    if wl.startswith("mem:"):
        memory.extend(dict(r, name=wl[4:]) for r in rows[key])
        continue
    runs = {k: [r for r in rows[key] if r["kind"] == k] for k in ("ceiling", "engine")}
    stats = {}
    for kind, rs in runs.items():
        stats[kind] = dict(
            rate=med([r["msgs"] / r["wall"] for r in rs]),
            mbs=med([r["bytes"] / 1e6 / r["wall"] for r in rs]),
            cpu=med([r["cpu"] for r in rs]),
            rss=med([r["rss"] for r in rs]),
            fetching=med([r["fetching"] for r in rs if r["fetching"]]),
            startup=med([r["wall"] - r["fetching"] for r in rs if r["fetching"]]),
        )
    bad = [r["status"] for r in runs["engine"] if r["status"] != "ok"]
    c, e = stats["ceiling"], stats["engine"]
    ratio = e["rate"] / c["rate"] if c["rate"] else float("nan")
    cpu_ratio = e["cpu"] / c["cpu"] if c["cpu"] else float("nan")
    print(f"| {wl}{' (' + ', '.join(bad) + ')' if bad else ''} | {mailboxes} | {len(runs['engine'])} "
          f"| {c['rate']:.0f} | {c['mbs']:.1f} | {c['cpu']:.1f} | {c['rss']:.0f} "
          f"| {e['rate']:.0f} | {e['mbs']:.1f} | {e['cpu']:.1f} | {e['rss']:.0f} | {ratio:.0%} | {cpu_ratio:.1f}x |")
    msgs = med([r["msgs"] for r in runs["engine"]])
    phases.append((wl, mailboxes, c, e, msgs))

if phases:
    print()
    print("From the first UID FETCH of the run to the process's exit (the same event in both; before it: runtime start,")
    print("configuration, TLS, login, SELECT/EXAMINE, SEARCH, and for the engine its journal and store; medians):")
    print()
    print("| workload | mailboxes | ceiling start-up s | ceiling fetching s | ceiling msg/s | engine start-up s "
          "| engine fetching s | engine msg/s | engine / ceiling (msg/s) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for wl, mailboxes, c, e, msgs in phases:
        cr, er = msgs / c["fetching"], msgs / e["fetching"]
        print(f"| {wl} | {mailboxes} | {c['startup']:.2f} | {c['fetching']:.2f} | {cr:.0f} | {e['startup']:.2f} "
              f"| {e['fetching']:.2f} | {er:.0f} | {er / cr:.0%} |")

if memory:
    print()
    print("| mailbox | messages | wall s | CPU s | peak RSS MiB | status |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for r in sorted(memory, key=lambda r: r["round"]):
        print(f"| {r['name']} | {r['msgs']} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['rss']:.0f} | {r['status']} |")
    # Each round's largest mailbox against its smallest of the same kind, and the attachment's cost.
    print()
    print("| round | largest against smallest small-message mailbox (peak RSS) | the 50 MB attachment, MiB |")
    print("| ---: | ---: | ---: |")
    for rnd in sorted({r["round"] for r in memory}):
        runs = {r["name"]: r for r in memory if r["round"] == rnd}
        sized = sorted((r["msgs"], r["rss"]) for name, r in runs.items() if name.endswith(" small messages") and r["msgs"] > 100)
        attached = [r["rss"] for name, r in runs.items() if "attachment" in name]
        plain = [r["rss"] for name, r in runs.items() if name == "100 small messages"]
        growth = f"{sized[-1][1] / sized[0][1] - 1:+.0%}" if len(sized) >= 2 else "-"
        extra = f"{attached[0] - plain[0]:+.0f}" if attached and plain else "-"
        print(f"| {rnd} | {growth} | {extra} |")

if len(sys.argv) > 2:
    # bench/e2e.sh idle: one line per run (users, round, emails, catch-up s, RSS at rest KB, peak RSS KB, CPU s,
    # server sessions, probes seen, probe latency p50, p95, max, delivery to the engine's poll p50, p95, status).
    idle = [line.rstrip("\n").split("\t") for line in open(sys.argv[2], encoding="utf-8")]
    print()
    print("| mailboxes | round | emails | catch-up s | emails/s | CPU s | peak RSS MiB | RSS at rest MiB | IMAP sessions "
          "| probes | new mail p50 s | p95 s | max s | to the poll p50 s | p95 s | status |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for users, rnd, emails, caught, rest, rss, cpu, sessions, seen, p50, p95, top, poll50, poll95, status in idle:
        print(f"| {users} | {rnd} | {emails} | {float(caught):.1f} | {int(emails) / float(caught):.0f} | {float(cpu):.1f} "
              f"| {int(rss) / 1024:.0f} | {int(rest) / 1024:.0f} | {sessions} | {seen} | {p50} | {p95} | {top} | {poll50} | {poll95} | {status} |")
    by = defaultdict(list)
    for users, _, _, _, rest, *_ in idle:
        by[int(users)].append(int(rest) / 1024)
    if len(by) >= 2:
        small, large = min(by), max(by)
        per = (med(by[large]) - med(by[small])) / (large - small)
        print()
        print(f"RSS at rest per idle mailbox (medians, {large} against {small} mailboxes): {per * 1024:.0f} KiB")
