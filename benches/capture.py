#!/usr/bin/env python3
"""Turns the statements one API request sent to PostgreSQL into a pgbench script.

run.sh turns statement logging on, makes the request once, turns it off, and
calls this with the log and the byte offset where the request began:

    capture.py LOG OFFSET OUT.sql --marker ID [--vary VALUE SET EXPR]... [--fresh VALUE]...

Only the backends (pids) whose statements mention MARKER (an id the request
named) are taken, so the server's background queries are left out; a post
reads on one connection and is written by its worker's post queue on
another, so their statements are merged in log order. Bound parameters are
written back as literals; a parameter equal to a --vary VALUE becomes EXPR
(drawn afresh by the SET line on every pgbench transaction), one equal to a
--fresh VALUE (an id the request created) becomes gen_random_uuid(), and an
array of one such value (the post queue's batch of one) becomes ARRAY[...]
of it. The result is what the server sends for that request, statement for
statement, ready for `pgbench -M prepared -f OUT.sql`.
"""

import argparse
import re
import sys

ENTRY = re.compile(r"^.*?\[(\d+)\] (LOG|DETAIL|STATEMENT|ERROR|WARNING|HINT|CONTEXT):\s+(.*)$")
EXECUTE = re.compile(r"^duration: [\d.]+ ms\s+(?:execute [^:]*|statement): (.*)$", re.S)
PARAMS = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")


def entries(text):
    """(pid, kind, message) per log entry; continuation lines start with a tab."""
    current = None
    for line in text.splitlines():
        m = ENTRY.match(line)
        if m:
            if current:
                yield current
            current = [m.group(1), m.group(2), m.group(3)]
        elif current and line.startswith("\t"):
            current[2] += "\n" + line[1:]
    if current:
        yield current


def statements(text):
    """{pid: [(sql, {n: literal}, position in the log)]} in log order."""
    by_pid, last = {}, {}
    for at, (pid, kind, message) in enumerate(entries(text)):
        if kind == "LOG":
            # A DETAIL belongs to the LOG entry just before it on the same
            # backend, which may be a parse or bind that is not kept.
            m = EXECUTE.match(message)
            last[pid] = [m.group(1).strip(), {}, at] if m else None
            if m:
                by_pid.setdefault(pid, []).append(last[pid])
        elif kind == "DETAIL" and message.lower().startswith("parameters:") and last.get(pid):
            last[pid][1] = {int(n): v for n, v in PARAMS.findall(message)}
    return by_pid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("offset", type=int)
    ap.add_argument("out")
    ap.add_argument("--marker", required=True)
    ap.add_argument("--vary", nargs=3, action="append", default=[], metavar=("VALUE", "SET", "EXPR"))
    ap.add_argument("--fresh", action="append", default=[])
    args = ap.parse_args()

    with open(args.log, encoding="utf-8", errors="replace") as f:
        f.seek(args.offset)
        text = f.read()
    by_pid = statements(text)
    mine = [
        pid
        for pid, stmts in by_pid.items()
        if any(args.marker in sql or any(args.marker in v for v in params.values()) for sql, params, _ in stmts)
    ]
    if not mine:
        sys.exit(f"capture: no backend named {args.marker}")
    stmts = sorted(
        (
            (at, sql, params)
            for pid in mine
            for sql, params, at in by_pid[pid]
            if "ALTER SYSTEM" not in sql and "pg_reload_conf" not in sql
        ),
        key=lambda s: s[0],
    )
    stmts = [(sql, params) for _, sql, params in stmts]

    def replaced(inner):
        for vary_value, _, expr in args.vary:
            if inner == vary_value:
                return expr
        if inner in args.fresh:
            return "gen_random_uuid()"
        return None

    def literal(value):
        inner = value[1:-1].replace("''", "'") if value != "NULL" else None
        if inner is not None and inner.startswith("{") and inner.endswith("}"):
            one = replaced(inner[1:-1])
            return f"ARRAY[{one}]" if one else value
        return replaced(inner) or value

    lines = [f"-- captured by benches/capture.py: {len(stmts)} statements of one request"]
    lines += sorted({s for _, s, _ in args.vary})
    for sql, params in stmts:
        sql = re.sub(r"\$(\d+)", lambda m: literal(params.get(int(m.group(1)), "NULL")), sql)
        # pgbench reads one statement per line unless it ends in a semicolon.
        lines.append(" ".join(sql.split()) + ";")
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"capture: {len(stmts)} statements -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
