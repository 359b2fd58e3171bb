#!/usr/bin/env python3
"""e2e.py — small helpers of bench/e2e/run.sh (standard library only).

  e2e.py scrape PORT FILE            save /metrics to FILE
  e2e.py metric FILE NAME            a value from a saved scrape ("NAME{labels}")
  e2e.py hist BEFORE AFTER NAME [SCALE]   (NAME may be 'name{label="v"}')
                                     count, p50, p99 (times SCALE, default 1e3:
                                     seconds to ms; interpolated in the
                                     bucket) of a histogram between scrapes
  e2e.py sample PORT DB PID OUT      every 0.5 s until killed: one line
      "epoch_us ticks_received agent_tasks queue_worker queue_writer
       pg_queue_usage cpu_ticks rss_kb"
  e2e.py caught SAMPLES T0_US TARGET_TICKS BASE_TICKS
                                     first sample time (s after T0) at which
                                     ticks_received - BASE >= TARGET, and the
                                     largest queue depths / pg queue usage
                                     seen from T0 on
  e2e.py storm PORT BASE EXPECT TIMEOUT
                                     poll agent_tasks_written until BASE+EXPECT
                                     or no progress for 10 s; print
                                     "done_epoch_us reached"
"""
import subprocess
import sys
import time
import urllib.request


def scrape(port):
    return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()


def value(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return float("nan")


def buckets(text, name):
    """The buckets of histogram NAME, or of one series: NAME{label="v"}."""
    base, _, label = name.partition("{")
    prefix = base + "_bucket{" + (label.rstrip("}") + "," if label else "")
    out = []
    for line in text.splitlines():
        if line.startswith(prefix):
            le = line.split('le="')[1].split('"')[0]
            out.append((float("inf") if le == "+Inf" else float(le), float(line.split()[-1])))
    return out


def quantile(bk, q):
    total = bk[-1][1]
    if total <= 0:
        return float("nan")
    want = q * total
    prev_le, prev_c = 0.0, 0.0
    for le, c in bk:
        if c >= want:
            if le == float("inf"):
                return prev_le
            frac = (want - prev_c) / (c - prev_c) if c > prev_c else 1.0
            return prev_le + (le - prev_le) * frac
        prev_le, prev_c = le, c
    return prev_le


def proc(pid):
    with open(f"/proc/{pid}/stat") as f:
        st = f.read().rsplit(")", 1)[1].split()
    cpu = int(st[11]) + int(st[12])	# utime + stime, fields 14 and 15
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return cpu, rss


def main():
    cmd = sys.argv[1]
    if cmd == "scrape":
        with open(sys.argv[3], "w") as f:
            f.write(scrape(sys.argv[2]))
    elif cmd == "metric":
        with open(sys.argv[2]) as f:
            v = value(f.read(), sys.argv[3])
        print(int(v) if v == v and v == int(v) else v)
    elif cmd == "hist":
        with open(sys.argv[2]) as f:
            a = buckets(f.read(), sys.argv[4])
        with open(sys.argv[3]) as f:
            b = buckets(f.read(), sys.argv[4])
        d = [(le, cb - ca) for (le, cb), (_, ca) in zip(b, a)]
        n = d[-1][1] if d else 0
        scale = float(sys.argv[5]) if len(sys.argv) > 5 else 1e3
        print(f"{int(n)} {quantile(d, 0.5) * scale:.3f} {quantile(d, 0.99) * scale:.3f}")
    elif cmd == "sample":
        port, db, pid, out = sys.argv[2:6]
        with open(out, "a", buffering=1) as f:
            while True:
                try:
                    t = scrape(port)
                    u = subprocess.run(["psql", "-X", "-At", "-d", db, "-c",
                                        "SELECT pg_notification_queue_usage()"],
                                       capture_output=True, text=True).stdout.strip()
                    cpu, rss = proc(pid)
                    f.write("%d %d %d %d %d %s %d %d\n" % (
                        time.time() * 1e6, value(t, "leo_ticks_received_total"),
                        value(t, "leo_agent_tasks_written_total"),
                        value(t, 'leo_queue_depth{queue="worker"}'),
                        value(t, 'leo_queue_depth{queue="writer"}'), u or "nan", cpu, rss))
                except Exception as e:	# the daemon may be stopping
                    f.write(f"# {e}\n")
                time.sleep(0.5)
    elif cmd == "caught":
        path, t0, target, base = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        caught, qw, qr, pu, bad = None, 0, 0, 0.0, 0
        with open(path) as f:
            for line in f:
                if line.startswith("#"):
                    continue
                p = line.split()
                ts = int(p[0])
                if ts < t0:
                    continue
                # a gauge read between a queue's pop and its push accounting
                # shows an unsigned wrap-around (2^64): count it, skip it
                w, r = int(p[3]), int(p[4])
                if w > 1 << 62 or r > 1 << 62:
                    bad += 1
                    w, r = (0 if w > 1 << 62 else w), (0 if r > 1 << 62 else r)
                qw, qr = max(qw, w), max(qr, r)
                try:
                    pu = max(pu, float(p[5]))
                except ValueError:
                    pass
                if caught is None and int(p[1]) - base >= target:
                    caught = (ts - t0) / 1e6
                    break
        print(f"{caught if caught is not None else 'never'} {qw} {qr} {pu:.6f} {bad}")
    elif cmd == "storm":
        port, base, expect, timeout = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
        start = time.time()
        last, last_t = base, time.time()
        while True:
            v = int(value(scrape(port), "leo_agent_tasks_written_total"))
            now = time.time()
            if v != last:
                last, last_t = v, now
            if v - base >= expect or now - last_t > 10 or now - start > timeout:
                break
            time.sleep(0.05)
        print(f"{int(last_t * 1e6)} {last - base}")
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
