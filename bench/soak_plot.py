#!/usr/bin/env python3
"""The soak's verdict and picture (bench/run.sh --soak).

Usage: soak_plot.py T0 RSS_SAMPLES ROUNDS OUT.svg
  RSS_SAMPLES: lines "unix_time rss_mb" (every 2 s);
  ROUNDS: lines "unix_time tokens_so_far req_per_s rss_mb" (one per 10 s round).
Prints RSS after the first million tokens and at the end; exits 1 when the end is more
than 10% above the first million or at 64 MB or more. Draws RSS and throughput over time
as an SVG (no plotting library needed)."""
import sys

t0 = float(sys.argv[1])
rss = [tuple(map(float, l.split())) for l in open(sys.argv[2]) if len(l.split()) == 2]
rounds = [tuple(map(float, l.split())) for l in open(sys.argv[3]) if len(l.split()) == 4]
out = sys.argv[4]
if not rounds or not rss:
    sys.exit("soak: no samples")

first_million = next((r for r in rounds if r[1] >= 1_000_000), rounds[0])
end = rounds[-1]
tokens = int(end[1])
minutes = (end[0] - t0) / 60
grown = end[3] / first_million[3] - 1 if first_million[3] else 0.0
ok = grown <= 0.10 and end[3] < 64
print(f"soak: {tokens:,} tokens in {minutes:.1f} min; RSS {first_million[3]:.1f} MB after "
      f"{int(first_million[1]):,} tokens, {end[3]:.1f} MB at the end ({grown:+.1%}), "
      f"peak {max(m for _, m in rss):.1f} MB: {'flat' if ok else 'NOT FLAT'}")

# ---------------------------------------------------------------- the picture
W, H, L, R, T, GAP = 760, 420, 70, 20, 30, 40
panel = (H - T - GAP - 40) / 2
span = max(end[0], rss[-1][0]) - t0 or 1.0


def x(t):
    return L + (t - t0) / span * (W - L - R)


def line(points, top, vmax, colour):
    pts = " ".join(f"{x(t):.1f},{top + panel - v / vmax * panel:.1f}" for t, v in points)
    return f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{pts}"/>'


def axis(top, vmax, label, unit):
    parts = [f'<rect x="{L}" y="{top}" width="{W - L - R}" height="{panel:.1f}" '
             f'fill="none" stroke="#999"/>',
             f'<text x="{L - 8}" y="{top - 8}" font-size="12">{label}</text>']
    for i in range(5):
        v = vmax * i / 4
        y = top + panel - panel * i / 4
        parts.append(f'<line x1="{L - 4}" x2="{W - R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{L - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
                     f'{v:,.0f}{unit}</text>')
    return "".join(parts)


rss_max = max(64.0, max(m for _, m in rss) * 1.1)
rate_max = max(r[2] for r in rounds) * 1.1 or 1.0
top1, top2 = T, T + panel + GAP
limit_y = top1 + panel - 64 / rss_max * panel
ticks = []
for i in range(6):
    t = t0 + span * i / 5
    ticks.append(f'<text x="{x(t):.1f}" y="{top2 + panel + 16:.1f}" font-size="10" '
                 f'text-anchor="middle">{(t - t0) / 60:.1f} min</text>')
svg = f'''<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif">
<rect width="{W}" height="{H}" fill="white"/>
<text x="{W / 2}" y="16" font-size="13" text-anchor="middle">regauth soak: {tokens:,} tokens, mixed workload, no /metrics scrape</text>
{axis(top1, rss_max, "RSS (MB, every 2 s)", "")}
<line x1="{L}" x2="{W - R}" y1="{limit_y:.1f}" y2="{limit_y:.1f}" stroke="#c33" stroke-dasharray="4 3"/>
<text x="{W - R - 4}" y="{limit_y - 4:.1f}" font-size="10" text-anchor="end" fill="#c33">64 MB</text>
{line(rss, top1, rss_max, "#1f77b4")}
{axis(top2, rate_max, "tokens per second (per 10 s round)", "")}
{line([(r[0], r[2]) for r in rounds], top2, rate_max, "#2ca02c")}
{"".join(ticks)}
</svg>
'''
with open(out, "w") as f:
    f.write(svg)
print(f"soak: picture in {out}")
sys.exit(0 if ok else 1)
