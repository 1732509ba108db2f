#!/usr/bin/python3
"""Render a VCD file to a PNG with Debian's matplotlib (run with /usr/bin/python3).

  scripts/vcd_to_png.py run.vcd out.png [--signals REGEX] [--start NS] [--end NS]
                        [--filter REGEX=FILTERFILE ...] [--title TEXT]

Every signal whose full name matches --signals (default: all) becomes one lane: single bits as
a step line, buses as labelled segments. --filter applies a GTKWave translate filter (lines
"value name", value in hex) to the signals matching REGEX, so command codes show as names.
"""
import argparse
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def parse_vcd(path):
    scale_ps = 1
    signals = {}  # id -> (name, width)
    order = []
    changes = {}  # id -> [(time_ps, value_str)]
    scope = []
    time = 0
    in_defs = True
    with open(path) as f:
        tokens = f.read().split()
    i = 0
    units = {"s": 10**12, "ms": 10**9, "us": 10**6, "ns": 10**3, "ps": 1, "fs": 1e-3}
    while i < len(tokens):
        t = tokens[i]
        if in_defs:
            if t == "$timescale":
                spec = []
                i += 1
                while tokens[i] != "$end":
                    spec.append(tokens[i])
                    i += 1
                m = re.match(r"(\d+)\s*(\w+)", "".join(spec))
                scale_ps = int(m.group(1)) * units[m.group(2)]
            elif t == "$scope":
                scope.append(tokens[i + 2])
                i += 3
            elif t == "$upscope":
                scope.pop()
                i += 1
            elif t == "$var":
                width, ident, name = int(tokens[i + 2]), tokens[i + 3], tokens[i + 4]
                full = ".".join(scope + [name])
                if ident not in signals:
                    signals[ident] = (full, width)
                    order.append(ident)
                    changes[ident] = []
                while tokens[i] != "$end":
                    i += 1
            elif t == "$enddefinitions":
                in_defs = False
                while tokens[i] != "$end":
                    i += 1
            i += 1
            continue
        if t.startswith("#"):
            time = int(t[1:]) * scale_ps
        elif t[0] in "bBrR":
            ident = tokens[i + 1]
            if ident in changes:
                changes[ident].append((time, t[1:]))
            i += 1
        elif t[0] in "01xXzZ" and len(t) > 1:
            ident = t[1:]
            if ident in changes:
                changes[ident].append((time, t[0]))
        i += 1
    return signals, order, changes, time


def load_filter(path):
    table = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, _, name = line.partition(" ")
            table[int(key, 16)] = name.strip()
    return table


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("vcd")
    ap.add_argument("png")
    ap.add_argument("--signals", default=".*")
    ap.add_argument("--start", type=float, default=None, help="ns")
    ap.add_argument("--end", type=float, default=None, help="ns")
    ap.add_argument("--filter", action="append", default=[], help="REGEX=FILTERFILE")
    ap.add_argument("--title", default=None)
    a = ap.parse_args()

    signals, order, changes, last = parse_vcd(a.vcd)
    sel = [s for s in order if re.search(a.signals, signals[s][0])]
    if not sel:
        sys.exit("vcd_to_png: no signal matches " + a.signals)
    filters = []
    for spec in a.filter:
        rx, _, path = spec.partition("=")
        filters.append((re.compile(rx), load_filter(path)))
    t0 = a.start * 1000 if a.start is not None else 0
    t1 = a.end * 1000 if a.end is not None else last
    if t1 <= t0:
        sys.exit("vcd_to_png: empty time window")

    fig, ax = plt.subplots(figsize=(14, 0.45 * len(sel) + 1.2))
    for lane, ident in enumerate(reversed(sel)):
        name, width = signals[ident]
        table = next((tb for rx, tb in filters if rx.search(name)), None)
        # Several changes at one time stamp: the last one holds (as in GTKWave).
        pts = []
        for (t, v) in changes[ident]:
            if pts and pts[-1][0] == t:
                pts[-1] = (t, v)
            else:
                pts.append((t, v))
            if len(pts) > 1 and pts[-1][1] == pts[-2][1]:
                pts.pop()  # no change after all
        y = lane
        segs = []
        value = None
        for (t, v) in pts:
            if t > t1:
                break
            segs.append((max(t, t0), v))
            value = v
        if not segs or segs[0][0] > t0:
            segs.insert(0, (t0, value if value is not None else "x"))
        # keep the last value before t0
        before = [v for (t, v) in pts if t <= t0]
        if before:
            segs[0] = (t0, before[-1])
        segs = [s for s in segs if s[0] >= t0]
        segs.append((t1, None))
        for (ta, v), (tb, _) in zip(segs, segs[1:]):
            xa, xb = ta / 1000.0, tb / 1000.0
            if v is None or xb <= xa:
                continue
            if width == 1:
                level = 0.75 if v == "1" else 0.1
                ax.plot([xa, xb], [y + level, y + level], color="tab:blue", lw=1.2)
                ax.plot([xa, xa], [y + 0.1, y + 0.75], color="tab:blue", lw=0.6)
            else:
                try:
                    num = int(v, 2)
                except ValueError:
                    num = None
                idle = num == 0 and table is not None and table.get(0, "") in ("-", "")
                ax.fill_between([xa, xb], y + 0.1, y + 0.8, color="0.92" if idle else "tab:green",
                                alpha=1.0 if idle else 0.35, lw=0)
                ax.plot([xa, xa], [y + 0.1, y + 0.8], color="0.4", lw=0.5)
                label = ""
                if num is not None and not idle:
                    label = table.get(num, format(num, "x")) if table else format(num, "x")
                if label and (xb - xa) > (t1 - t0) / 1000.0 / 120:
                    ax.text((xa + xb) / 2, y + 0.45, label, ha="center", va="center", fontsize=6, clip_on=True)
    ax.set_yticks([i + 0.45 for i in range(len(sel))])
    ax.set_yticklabels([signals[s][0] for s in reversed(sel)], fontsize=7)
    ax.set_xlim(t0 / 1000.0, t1 / 1000.0)
    ax.set_ylim(-0.2, len(sel))
    ax.set_xlabel("time (ns)")
    ax.grid(axis="x", color="0.85", lw=0.5)
    if a.title:
        ax.set_title(a.title, fontsize=9)
    fig.tight_layout()
    fig.savefig(a.png, dpi=130)


if __name__ == "__main__":
    main()
