#!/usr/bin/env python3
"""Attributes `perf script` samples of one process to the library that spent them (bench/profile.sh).

Each sample goes to the nearest frame on its stack, from the leaf up, that belongs to a library of its own: frames
of the kernel, libc, the runtime's base library and collections are passed over, so a system call or a Span copy
counts for the code that asked for it. A stack with nothing but such frames counts under its leaf's module. Managed
frames need the runtime's perf map (DOTNET_PerfMapEnabled=1): their names carry the assembly in brackets.

    perf script -F comm,pid,tid,time,ip,sym,dso | python3 bench/perf-attribute.py [--pid PID] [--from-unix T] [--top N]

--from-unix counts only the samples from Unix time T on (record with `perf record -k CLOCK_REALTIME`).
--runtime-to-caller passes over the runtime's own frames too (libcoreclr: allocation, GC, casts; its stubs), so their
time counts for the managed code that called into them; what no managed frame called (the GC's and the JIT's own
threads) stays the runtime's. The samples are also counted by thread name.
"""
import re
import sys
from collections import Counter

PASS_OVER_MODULES = ("[kernel.kallsyms]", "libc.so", "libc-", "ld-linux", "libpthread", "libm.so", "[vdso]",
                     "libSystem.Native.so", "libstdc++")
PASS_OVER_ASSEMBLIES = ("System.Private.CoreLib", "System.Runtime", "System.Collections", "System.Memory",
                        "System.Linq", "System.Threading", "System.Runtime.Intrinsics", "System.Collections.Concurrent",
                        "System.Collections.Immutable", "System.ObjectModel", "System.Buffers")
# Modules named by what they do.
NAMES = {
    "libcrypto.so": "libcrypto (TLS and digests)",
    "libssl.so": "libcrypto (TLS and digests)",
    "libSystem.Security.Cryptography.Native.OpenSsl.so": "libcrypto (TLS and digests)",
    "System.Security.Cryptography": "libcrypto (TLS and digests)",
    "System.Net.Security": "TLS stream (System.Net.Security)",
    "libe_sqlite3.so": "SQLite (e_sqlite3)",
    "libcoreclr.so": "runtime (GC, allocation, type system)",
    "libclrjit.so": "JIT",
    "libcoreclrtraceptprovider.so": "runtime (GC, allocation, type system)",
}
RUNTIME_MODULES = ("libcoreclr.so",)
SAMPLE = re.compile(r"^(.*?)\s+(\d+)/(\d+)\s+(\d+\.\d+):")
FRAME = re.compile(r"^\s+[0-9a-f]+\s+(.*)\s+\((.*)\)\s*$")
ASSEMBLY = re.compile(r"\[([A-Za-z0-9_.]+)\]\s")


def module_of(symbol, dso):
    m = ASSEMBLY.search(symbol)
    if m and (dso.startswith("/tmp/perf-") or dso.endswith(".map") or "memfd:" in dso or dso == "unknown"):
        return m.group(1)
    base = dso.rsplit("/", 1)[-1]
    # ReadyToRun code has no perf-map names, but its image names the assembly.
    return base[:-4] if base.endswith(".dll") else base


def label(module):
    if module.startswith("perf-") or module == "[unknown]":
        return "runtime stubs and unnamed JIT code"
    for key, name in NAMES.items():
        if module.startswith(key):
            return name
    if module.startswith("ImapActors"):
        return module
    return module


def passed_over(module, runtime_to_caller=False):
    return (module.startswith(PASS_OVER_MODULES) or module in PASS_OVER_ASSEMBLIES
            or (runtime_to_caller and (module.startswith(RUNTIME_MODULES) or module.startswith("perf-"))))


def main():
    pid = None
    since = None
    top = 40
    to_caller = False
    args = sys.argv[1:]
    while args:
        a = args.pop(0)
        if a == "--pid":
            pid = args.pop(0)
        elif a == "--from-unix":
            since = float(args.pop(0))
        elif a == "--runtime-to-caller":
            to_caller = True
        elif a == "--top":
            top = int(args.pop(0))
    counts = Counter()
    threads = Counter()
    total = 0
    stack = []
    header = None

    def flush():
        nonlocal total
        if header is None:
            return
        if pid is not None and header[0] != pid:
            return
        if since is not None and header[1] < since:
            return
        total += 1
        threads[re.sub(r"\s*#?\d+$", "", header[2]).strip() or "?"] += 1
        chosen = None
        for symbol, dso in stack:
            module = module_of(symbol, dso)
            if not passed_over(module, to_caller):
                chosen = label(module)
                break
        if chosen is None:
            # Nothing but passed-over frames: the first runtime frame when there is one, else the leaf's module.
            runtime = next((module_of(*f) for f in stack if module_of(*f).startswith(RUNTIME_MODULES)), None)
            chosen = label(runtime) if runtime else "rest: " + (label(module_of(*stack[0])) if stack else "no stack")
        counts[chosen] += 1

    for line in sys.stdin:
        if not line.strip():
            flush()
            header, stack = None, []
            continue
        if not line[0].isspace():
            m = SAMPLE.match(line)
            header = (m.group(2), float(m.group(4)), m.group(1)) if m else None
            stack = []
            continue
        m = FRAME.match(line)
        if m:
            stack.append((m.group(1), m.group(2)))
    flush()
    print(f"samples: {total}")
    for name, n in counts.most_common(top):
        print(f"{n / total:7.1%}  {n:7d}  {name}")
    print("by thread:")
    for name, n in threads.most_common(12):
        print(f"{n / total:7.1%}  {n:7d}  {name}")


if __name__ == "__main__":
    main()
