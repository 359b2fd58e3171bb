#!/usr/bin/env python3
"""tmpl_jinja.py — the template vectors of tests/data/tmpl/ against Jinja2,
the reference of the template subset (docs/templates.md).

Every ok/NAME.tmpl rendered by Jinja2 (StrictUndefined, no autoescape,
Jinja2's other defaults) over context.json must give exactly ok/NAME.out,
the file the C engine is tested against; every bad/NAME.tmpl must make
Jinja2 raise too, except the few listed in OWN_LIMITS, which are limits or
choices of the C engine that Jinja2 does not share.

    tmpl_jinja.py DATA_DIR            check (exit 77 without python3-jinja2)
    tmpl_jinja.py DATA_DIR --write    (re)write ok/*.out from Jinja2

The context is read as the C engine reads it: a JSON number that is
integral and below 2**53 in magnitude is an integer.
"""
import json
import os
import sys

try:
    import jinja2
except ImportError:
    print("python3-jinja2 not installed: skipped")
    sys.exit(77)

# bad vectors that Jinja2 renders: the C engine's own limits and choices
OWN_LIMITS = {
    "output_limit": "output over 64 KiB",
    "deep_blocks": "blocks nested deeper than 64",
    "deep_expr": "expressions nested deeper than 64",
    "print_list": "a list or an object is not printed (Jinja2 prints its repr)",
    "unsupported_escape": "\\x, \\u, \\N and octal escapes are not supported",
    "loop_limit": "more than 1000 loop iterations in all",
    "loop_over_string": "only a list is looped over (Jinja2 loops over characters)",
}


def number(v):
    f = float(v)
    if f == int(f) and abs(f) < 2**53:
        return int(f)
    return f


def main():
    data = sys.argv[1]
    write = "--write" in sys.argv[2:]
    with open(os.path.join(data, "tmpl", "context.json"), encoding="utf-8") as f:
        ctx = json.load(f, parse_float=number, parse_int=number)
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    bad = []

    okdir = os.path.join(data, "tmpl", "ok")
    for name in sorted(os.listdir(okdir)):
        if not name.endswith(".tmpl"):
            continue
        base = name[:-5]
        with open(os.path.join(okdir, name), encoding="utf-8", newline="") as f:
            src = f.read()
        try:
            got = env.from_string(src).render(**ctx)
        except Exception as e:  # noqa: BLE001 - any failure is a disagreement
            bad.append(f"ok/{base}: Jinja2 raised {type(e).__name__}: {e}")
            continue
        out = os.path.join(okdir, base + ".out")
        if write:
            with open(out, "w", encoding="utf-8", newline="") as f:
                f.write(got)
            continue
        with open(out, encoding="utf-8", newline="") as f:
            want = f.read()
        if got != want:
            bad.append(f"ok/{base}: Jinja2 gives {got!r}, the vector says {want!r}")

    baddir = os.path.join(data, "tmpl", "bad")
    skipped = []
    for name in sorted(os.listdir(baddir)):
        if not name.endswith(".tmpl"):
            continue
        base = name[:-5]
        if base in OWN_LIMITS:
            skipped.append(f"bad/{base} ({OWN_LIMITS[base]})")
            continue
        with open(os.path.join(baddir, name), encoding="utf-8", newline="") as f:
            src = f.read()
        try:
            got = env.from_string(src).render(**ctx)
        except Exception:  # noqa: BLE001 - raising is what is expected
            continue
        bad.append(f"bad/{base}: Jinja2 renders it: {got[:80]!r}")

    for s in skipped:
        print("skipped, our own limit:", s)
    for b in bad:
        print(b)
    print(f"{len(bad)} disagreement(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
