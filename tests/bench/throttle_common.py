"""What throttle_read.py and throttle_write.py share: reading ddbfs's throttle log lines and
measuring them against a budget (per-second consumption, the average, the highest window, goals).

An event is (t, consumed, extra): t the monotonic seconds of ddbfs's log line, consumed the
capacity units it reports, extra the benchmark's own field (a segment, a count of items). Stdlib
only.
"""

import os
import re
import shutil
import subprocess

# `ddbfs: info: throttle: key=value ...`; which fields count is the benchmark's business.
THROTTLE_RE = re.compile(r"^ddbfs: info: throttle: (.*)$")
FIELD_RE = re.compile(r"(\w+)=(\S+)")
WINDOW_S = 5.0
AVERAGE_GOAL = 0.03  # |average / budget - 1|
WINDOW_GOAL = 1.10  # highest window / budget
WALL_GOAL = (0.03, 1.0)  # |wall - cost / budget| <= 3% of cost / budget, plus 1 s


def per_second(events):
    """Consumption in each whole second after the first event: [units in second 0, 1, ...]."""
    if not events:
        return []
    t0 = events[0][0]
    buckets = [0.0] * (int(events[-1][0] - t0) + 1)
    for t, c, _ in events:
        buckets[int(t - t0)] += c
    return buckets


def average_rate(events):
    """Units/s between the first and the last event: the events after the first, over that time
    (the first event's capacity was earned before the first timestamp)."""
    if len(events) < 2:
        return None
    span = events[-1][0] - events[0][0]
    return sum(c for _, c, _ in events[1:]) / span if span > 0 else None


def highest_window(events, width=WINDOW_S):
    """The highest units/s over any window [t, t + width) that starts at an event and lies inside
    the run, and where it starts (seconds after the first event). None when the run is shorter."""
    best = None
    j = 0
    total = 0.0
    t_last = events[-1][0] if events else 0
    for i, (t, _, _) in enumerate(events):
        if t + width > t_last:
            break
        while j < len(events) and events[j][0] < t + width:
            total += events[j][1]
            j += 1
        rate = total / width
        if best is None or rate > best[0]:
            best = (rate, t - events[0][0])
        total -= events[i][1]
    return best


def plot(events, budget, unit, path, title):
    """Draws the units consumed in each second against the budget line into the PNG path, with
    gnuplot (Debian's gnuplot-nox; contrib/install-deps.sh). Returns path, or None (and says why)
    when gnuplot is missing or fails."""
    if not shutil.which("gnuplot"):
        print("plot: gnuplot is not installed (contrib/install-deps.sh installs it); no PNG")
        return None
    data = path[:-4] + ".dat" if path.endswith(".png") else path + ".dat"
    with open(data, "w") as f:
        f.write(f"# second {unit}\n")
        # The last second is cut short by the end of the run: drawn, it would look like a dip.
        for s, c in enumerate(per_second(events)[:-1] or per_second(events)):
            f.write(f"{s} {c:.3f}\n")
    script = "\n".join([
        "set terminal pngcairo size 1000,500 noenhanced" if _has_cairo() else
        "set terminal png size 1000,500 noenhanced",
        f"set output '{path}'",
        f"set title '{title}'",
        "set xlabel 'seconds since the first answer'",
        f"set ylabel '{unit} consumed per second'",
        "set yrange [0:*]",
        "set grid",
        "set key bottom right",
        f"plot '{data}' using 1:2 with steps lw 2 title '{unit} consumed in the second', "
        f"{budget} with lines lw 2 dt 2 title 'budget {budget:.1f} {unit}/s', "
        f"{budget * WINDOW_GOAL} with lines lw 1 dt 3 title '110% of the budget'",
    ])
    p = subprocess.run(["gnuplot"], input=script.encode(), capture_output=True, timeout=60)
    if p.returncode != 0:
        print(f"plot: gnuplot failed: {p.stderr.decode(errors='replace')[-500:]}")
        return None
    print(f"plot: {path} (data: {data})")
    return path


def _has_cairo():
    p = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, timeout=30)
    return b"pngcairo" in p.stdout + p.stderr


def report(events, budget, unit, wall, cost, timeline=False, png=None, title=""):
    """Prints the timeline (when asked), the average, the highest window and the wall time against
    their goals, in `unit` (RCU or WCU), and draws the PNG png when given. Returns True when all
    three goals are met."""
    avg = average_rate(events)
    win = highest_window(events)
    if timeline:
        for s, c in enumerate(per_second(events)):
            print(f"  second {s:4d}: {c:8.1f} {unit}  {c / budget * 100:6.1f}%")
    ok = True
    dev = avg / budget - 1
    good = abs(dev) <= AVERAGE_GOAL
    ok &= good
    print(f"average:      {avg:8.2f} {unit}/s = {avg / budget * 100:6.1f}% of the budget "
          f"(goal: within {AVERAGE_GOAL * 100:.0f}%)  {'met' if good else 'MISSED'}")
    if win is None:
        print(f"highest {WINDOW_S:.0f} s window: the run is shorter than {WINDOW_S:.0f} s  MISSED")
        ok = False
    else:
        good = win[0] <= WINDOW_GOAL * budget
        ok &= good
        print(f"highest {WINDOW_S:.0f} s window: {win[0]:8.2f} {unit}/s = "
              f"{win[0] / budget * 100:6.1f}% of the budget, at +{win[1]:.1f} s "
              f"(goal: at most {WINDOW_GOAL * 100:.0f}%)  {'met' if good else 'MISSED'}")
    bound = cost / budget
    slack = WALL_GOAL[0] * bound + WALL_GOAL[1]
    good = abs(wall - bound) <= slack
    ok &= good
    print(f"wall time:    {wall:.2f} s for {bound:.2f} s of budget (cost / budget), "
          f"{(wall / bound - 1) * 100:+.1f}% (goal: within {WALL_GOAL[0] * 100:.0f}% + "
          f"{WALL_GOAL[1]:.0f} s = {slack:.2f} s)  {'met' if good else 'MISSED'}")
    if png:
        plot(events, budget, unit, png, title)
    return ok
