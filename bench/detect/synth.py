# SPDX-License-Identifier: MIT
"""Synthetic count streams for bench/detect/run: one generator per suite.

Every stream starts on Monday 2026-01-05 00:00 (T0). Its expected count per
5 minutes, r(t), has a day rhythm (20% of the peak at night, a sine-shaped day
from 06:00 to 24:00 whose morning rise is moved by up to +-20 minutes each
day: the peak is 2.2 times the median, the night 0.2-0.45 times) and a week rhythm (Saturdays and Sundays at a factor drawn in 0.4-0.6 per
stream), scaled so that the median 5-minute bucket is the suite's level.
Buckets other than 5 minutes take the same intensity: 1-minute buckets r/5,
longer buckets the sum of their 5-minute rates. Counts are Poisson, or
negative-binomial ("nb0.1", "nb0.3": the rate times a gamma multiplier of mean
1 and variance alpha, drawn per bucket). An injected spike adds its excess as
a Poisson count on top of the ordinary count, so its size does not depend on
the noise model; bot bursts, the bots suite's spike and the rare term's
incident add exact counts; a silence or a drop scales the rate.

"Found" means an alert row on the event's first or second bucket (silences and
drops: any alert row inside them). A false alarm is an alert row outside
every event's [start, end + 2 h]. Suites (bench/detect/run runs 50 seeds of
each case, 10 with --quick; seasonal-drops 50 and 5):

  quiet     28 days (90 with 1-day buckets), no event; levels 0.5, 3, 30, 20000 x poisson, nb0.1,
            nb0.3: false alarms per stream-week.
  spikes    28 days, 8 spikes of 30 min at 4 x r + 25 a bucket, at random
            times after day 2, >= 1 day apart; same levels and noise models.
            Variant "shift": the rate x 2.5 from day 20 00:00 on; alerts in
            the shift's first day are counted apart, not as false alarms.
  close     median 30, poisson: two 30-min spikes 6 h apart after day 7, the
            first at 4 x r + 25, the second with 2.5 x the first's excess
            ("close-spikes-long", the issue's "spikes less than a day apart
            are found"), 2 x or the same excess; each reported apart.
  bots      median 3, poisson: 1-3 one-bucket bot bursts a day of +150-250
            at random times, and one real spike of 60 min at + 2 x the
            largest burst on a random day after day 7.
  holidays  median 30, poisson: days 8 and 15 at 30% of normal; 4 spikes of
            30 min at 4 x r + 25 after day 16, >= 1 day apart.
  silence   median 30, poisson, rule direction both: after day 8 a 2-hour
            silence (count 0) at a random time, night included; its expected
            count is reported.
  drop      the same with the rate halved for 6 hours.
  firstday  median 30, poisson, 3 days: a 30-min spike at 5 x r + 25 starting
            between hours 3 and 20 of the first day (the stream's first row
            is T0).
  rare      a flat rate of 0.03 a bucket; one incident of 15 mentions spread
            over 15 minutes after day 3.
  mid       median 16, poisson: a 45-min spike at 3 x r (excess 2 x r,
            16 -> ~48) starting at a random bucket after day 7 whose rate is
            within 0.8-1.25 x the median.
  seasonal-drops
            a city-taxi-like stream (see TaxiRhythm): 30-minute buckets,
            120 days, 10,000-30,000 a bucket by day, nights at ~15% of the
            evening peak, a weekday shape and a different Saturday and
            Sunday shape (mornings low, nights high), negative-binomial
            noise of alpha 0.005 (~7% relative), a trend of +10% over the
            120 days; rule direction both. Five labelled windows after day
            60, >= 8 days apart, in random order: three holidays (a whole
            weekday, 00:00-24:00, at 55-70% of its usual rate), a storm (12
            hours from a random half hour at 20%) and a night surge (22:00-
            04:00 at +60%). Found: an alert row inside the window; false
            alarm: outside every window's [start, end + 2 h]; those of the
            first 14 days (before two weeks of each weekday) are also
            counted apart.
  buckets   quiet and spikes again at 1-minute buckets (spikes 30 min at
            4 x r + 5), 1-hour buckets (spikes 2 h at 4 x r + 300) and 1-day
            buckets (90 days; 8 spikes of one day at 3 x r + 25 after day
            14, >= 3 days apart), levels 3 and 30 (of the 5-minute scale)
            x poisson and nb0.1.
"""
import datetime as dt
import math
import random
from dataclasses import dataclass, field

T0 = dt.datetime(2026, 1, 5)  # a Monday
MINUTE, FIVE_MIN, HOUR, DAY = 60, 300, 3600, 86400
NIGHT = 0.2  # the night's rate as a share of the day's peak
NOISE = {"poisson": 0.0, "nb0.1": 0.1, "nb0.3": 0.3}
LEVELS = (0.5, 3, 30, 20000)


@dataclass
class Event:
    """An injected event, in rows: found by an alert row in [start, hit_end);
    alerts in [start, quiet_end) are not false alarms; an event that is not
    scored (a level shift) is reported apart from the found ones."""
    name: str
    start: int
    hit_end: int
    quiet_end: int
    scored: bool = True


@dataclass
class Stream:
    """A generated stream: counts per bucket of `bucket` seconds, its events,
    rule keys the suite needs (e.g. direction) and figures it reports."""
    counts: list
    bucket: int
    events: list = field(default_factory=list)
    rule: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)


class Rhythm:
    """The expected count per 5 minutes at t seconds after T0: day and week
    rhythm with a per-day jitter of the morning, median scaled to `level`."""

    def __init__(self, rng, days, level):
        self.shift = [rng.uniform(-1 / 3, 1 / 3) for _ in range(days + 1)]
        self.weekend = rng.uniform(0.4, 0.6)
        self.scale = 1.0
        raw = sorted(self.rate5(i * FIVE_MIN) for i in range(days * DAY // FIVE_MIN))
        self.scale = level / raw[len(raw) // 2]

    def rate5(self, t):
        """Expected count of the 5 minutes starting t seconds after T0."""
        day, sec = divmod(t, DAY)
        h = sec / HOUR - self.shift[day]
        shape = math.sin(math.pi * (h - 6) / 18) if 6 < h < 24 else 0.0
        week = self.weekend if day % 7 >= 5 else 1.0
        return self.scale * week * (NIGHT + (1 - NIGHT) * shape)

    def rates(self, n, bucket):
        """Expected counts of n buckets of `bucket` seconds from T0."""
        if bucket < FIVE_MIN:
            return [self.rate5(i * bucket) * bucket / FIVE_MIN for i in range(n)]
        k = bucket // FIVE_MIN
        return [sum(self.rate5(i * bucket + j * FIVE_MIN) for j in range(k))
                for i in range(n)]


def poisson(rng, lam):
    """A Poisson draw: Knuth's product of uniforms up to lam 50, a rounded
    normal above."""
    if lam > 50:
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def draw(rng, lam, alpha):
    """One count of expected value lam: Poisson, or gamma-Poisson with
    dispersion alpha (variance lam + alpha lam^2)."""
    if alpha:
        lam *= rng.gammavariate(1 / alpha, alpha)
    return poisson(rng, lam)


def sample(rng, rates, noise):
    """Counts for expected `rates` under the named noise model."""
    alpha = NOISE[noise]
    return [draw(rng, lam, alpha) for lam in rates]


def spread(rng, n, lo, hi, gap):
    """n sorted starts drawn uniformly in [lo, hi), each >= gap from the next
    (uniform over all such sets: draw in the shortened range, then spread)."""
    pts = sorted(rng.randrange(lo, hi - (n - 1) * gap) for _ in range(n))
    return [p + k * gap for k, p in enumerate(pts)]


def rows(seconds, bucket):
    """Whole buckets in a duration."""
    return seconds // bucket


def spike_event(name, start, n, bucket):
    """A spike of n buckets: found on its first or second bucket; alerts up
    to 2 h after its end are not false alarms."""
    return Event(name, start, start + 2, start + n + rows(2 * HOUR, bucket) + 1)


def add_excess(rng, counts, start, excess):
    """Add a Poisson count of each expected excess from row start on."""
    for j, e in enumerate(excess):
        counts[start + j] += poisson(rng, e)


def quiet(rng, level, noise, bucket=FIVE_MIN):
    """No event: every alert is a false alarm. 28 days, 90 with 1-day buckets."""
    days = 90 if bucket == DAY else 28
    n = days * DAY // bucket
    return Stream(sample(rng, Rhythm(rng, days, level).rates(n, bucket), noise), bucket)


def spike_shape(bucket):
    """(length s, factor, plus, first day, days, gap s, count) of the spikes
    suite's spikes for a bucket size."""
    if bucket == DAY:
        return DAY, 3.0, 25.0, 14, 90, 3 * DAY, 8
    length = 2 * HOUR if bucket == HOUR else 30 * MINUTE
    return length, 4.0, 25.0 * bucket / FIVE_MIN, 2, 28, DAY, 8


def spikes(rng, level, noise, bucket=FIVE_MIN, shift=False):
    """8 spikes at factor x r + plus; with shift, the rate x 2.5 from day 20."""
    length, factor, plus, first, days, gap, count = spike_shape(bucket)
    n, span = days * DAY // bucket, rows(length, bucket)
    rates = Rhythm(rng, days, level).rates(n, bucket)
    events = []
    if shift:
        at = 20 * DAY // bucket
        rates[at:] = [2.5 * r for r in rates[at:]]
        events.append(Event("shift", at, at + DAY // bucket, at + DAY // bucket, False))
    counts = sample(rng, rates, noise)
    lo, hi = first * DAY // bucket, n - span - rows(2 * HOUR, bucket) - 1
    for s in spread(rng, count, lo, hi, rows(gap, bucket)):
        add_excess(rng, counts, s, [(factor - 1) * r + plus for r in rates[s:s + span]])
        events.append(spike_event("spike", s, span, bucket))
    return Stream(counts, bucket, events)


def close(rng, ratio):
    """Two 30-min spikes 6 h apart, the second with ratio x the first's excess."""
    n, span = 28 * DAY // FIVE_MIN, 6
    rates = Rhythm(rng, 28, 30).rates(n, FIVE_MIN)
    counts = sample(rng, rates, "poisson")
    s1 = rng.randrange(7 * DAY // FIVE_MIN, 26 * DAY // FIVE_MIN)
    s2 = s1 + 6 * HOUR // FIVE_MIN
    excess = [3 * r + 25 for r in rates[s1:s1 + span]]
    add_excess(rng, counts, s1, excess)
    add_excess(rng, counts, s2, [ratio * e for e in excess])
    return Stream(counts, FIVE_MIN, [spike_event("first", s1, span, FIVE_MIN),
                                     spike_event("second", s2, span, FIVE_MIN)])


def bots(rng):
    """Median 3 with 1-3 bot bursts a day and one real 60-min spike."""
    days, span = 28, 12
    n = days * DAY // FIVE_MIN
    counts = sample(rng, Rhythm(rng, days, 3).rates(n, FIVE_MIN), "poisson")
    spike = spike_event("spike", rng.randrange(7 * DAY // FIVE_MIN, 26 * DAY // FIVE_MIN),
                        span, FIVE_MIN)
    largest = bursts = 0
    for day in range(days):
        for _ in range(rng.randint(1, 3)):
            at = day * DAY // FIVE_MIN + rng.randrange(DAY // FIVE_MIN)
            if spike.start - 12 <= at < spike.quiet_end:
                continue
            size = rng.randint(150, 250)
            counts[at] += size
            largest, bursts = max(largest, size), bursts + 1
    for j in range(span):
        counts[spike.start + j] += 2 * largest
    return Stream(counts, FIVE_MIN, [spike], info={"bursts": bursts})


def holidays(rng):
    """Median 30, days 8 and 15 at 30%, 4 spikes after day 16."""
    n, span = 28 * DAY // FIVE_MIN, 6
    rates = Rhythm(rng, 28, 30).rates(n, FIVE_MIN)
    for day in (8, 15):
        a = day * DAY // FIVE_MIN
        rates[a:a + DAY // FIVE_MIN] = [0.3 * r for r in rates[a:a + DAY // FIVE_MIN]]
    counts = sample(rng, rates, "poisson")
    events = []
    for s in spread(rng, 4, 16 * DAY // FIVE_MIN, n - span - 25, DAY // FIVE_MIN):
        add_excess(rng, counts, s, [3 * r + 25 for r in rates[s:s + span]])
        events.append(spike_event("spike", s, span, FIVE_MIN))
    return Stream(counts, FIVE_MIN, events)


def lull(rng, name, hours, factor):
    """Median 30 with the rate x factor for `hours` at a random time after
    day 8; found by any alert inside; direction both."""
    n, span = 28 * DAY // FIVE_MIN, hours * HOUR // FIVE_MIN
    rates = Rhythm(rng, 28, 30).rates(n, FIVE_MIN)
    s = rng.randrange(8 * DAY // FIVE_MIN, 27 * DAY // FIVE_MIN)
    expected = sum(rates[s:s + span])
    rates[s:s + span] = [factor * r for r in rates[s:s + span]]
    end = s + span
    return Stream(sample(rng, rates, "poisson"), FIVE_MIN,
                  [Event(name, s, end, end + rows(2 * HOUR, FIVE_MIN) + 1)],
                  {"direction": "both"}, {"expected": expected})


def silence(rng):
    """A 2-hour silence (count 0)."""
    return lull(rng, "silence", 2, 0.0)


def drop(rng):
    """The rate halved for 6 hours."""
    return lull(rng, "drop", 6, 0.5)


def firstday(rng):
    """3 days from the stream's first row, a spike on the first day."""
    n, span = 3 * DAY // FIVE_MIN, 6
    rates = Rhythm(rng, 3, 30).rates(n, FIVE_MIN)
    counts = sample(rng, rates, "poisson")
    s = rng.randrange(3 * HOUR // FIVE_MIN, 20 * HOUR // FIVE_MIN + 1)
    add_excess(rng, counts, s, [4 * r + 25 for r in rates[s:s + span]])
    return Stream(counts, FIVE_MIN, [spike_event("spike", s, span, FIVE_MIN)])


def rare(rng):
    """A flat 0.03 a bucket, one incident of 15 mentions over 3 buckets."""
    n = 28 * DAY // FIVE_MIN
    counts = [poisson(rng, 0.03) for _ in range(n)]
    s = rng.randrange(3 * DAY // FIVE_MIN, 27 * DAY // FIVE_MIN)
    for _ in range(15):
        counts[s + rng.randrange(3)] += 1
    return Stream(counts, FIVE_MIN, [spike_event("incident", s, 3, FIVE_MIN)])


def mid(rng):
    """Median 16, a 45-min spike at 3 x r where r is near the median."""
    n, span = 28 * DAY // FIVE_MIN, 9
    rates = Rhythm(rng, 28, 16).rates(n, FIVE_MIN)
    counts = sample(rng, rates, "poisson")
    near = [i for i in range(7 * DAY // FIVE_MIN, 27 * DAY // FIVE_MIN)
            if 12.8 <= rates[i] <= 20]
    s = rng.choice(near)
    add_excess(rng, counts, s, [2 * r for r in rates[s:s + span]])
    return Stream(counts, FIVE_MIN, [spike_event("spike", s, span, FIVE_MIN)],
                  info={"rate": sum(rates[s:s + span]) / span})



# The taxi stream's day shapes: the rate at each hour's start as a share of
# a weekday evening's peak, interpolated linearly between hours (and across
# midnight into the next day's shape). Weekdays: a night trough of 15% at
# 05:00, a morning rush, a flat day, the peak at 19:00; Friday's night stays
# high. Saturday and Sunday: the night before stays high until 03:00, the
# morning is low until 09:00, and Sunday's evening falls early.
TAXI_WEEKDAY = (.50, .36, .26, .19, .16, .15, .25, .48, .66, .68, .64, .64,
                .68, .68, .70, .70, .68, .76, .92, 1.0, .95, .92, .88, .72)
TAXI_FRIDAY = TAXI_WEEKDAY[:21] + (.94, .95, .92)
TAXI_SATURDAY = (.88, .80, .68, .55, .40, .24, .15, .15, .22, .32, .45, .56,
                 .63, .66, .68, .68, .68, .72, .82, .92, .92, .95, .98, .96)
TAXI_SUNDAY = (.92, .85, .74, .60, .44, .26, .15, .14, .20, .30, .43, .55,
               .62, .64, .64, .64, .64, .66, .70, .70, .66, .60, .52, .42)
# Monday .. Sunday: (shape, factor).
TAXI_WEEK = ((TAXI_WEEKDAY, 0.90), (TAXI_WEEKDAY, 0.95), (TAXI_WEEKDAY, 1.0),
             (TAXI_WEEKDAY, 1.03), (TAXI_FRIDAY, 1.03), (TAXI_SATURDAY, 1.0),
             (TAXI_SUNDAY, 1.0))
TAXI_DAYS = 120
TAXI_ALPHA = 0.005
TAXI_TREND = 0.10  # growth over TAXI_DAYS


class TaxiRhythm:
    """A city-taxi-like expected count per bucket: the week of day shapes
    above times a peak drawn in 27,000-31,000 a 30-minute bucket, times a
    linear trend of +10% over 120 days."""

    def __init__(self, rng, bucket=30 * MINUTE):
        self.bucket = bucket
        self.peak = rng.uniform(27000, 31000) * bucket / (30 * MINUTE)

    def anchor(self, day, hour):
        """The shape's value at `hour`:00 of day `day` (hour 24: the next
        day's 00:00)."""
        if hour == 24:
            day, hour = day + 1, 0
        shape, factor = TAXI_WEEK[day % 7]
        return shape[hour] * factor

    def rate(self, t):
        """Expected count of the bucket centred t seconds after T0."""
        day, sec = divmod(t, DAY)
        hour, frac_h = divmod(sec / HOUR, 1)
        day, hour = int(day), int(hour)
        shape = (1 - frac_h) * self.anchor(day, hour) + frac_h * self.anchor(day, hour + 1)
        return self.peak * shape * (1 + TAXI_TREND * t / (TAXI_DAYS * DAY))

    def rates(self, n):
        """Expected counts of n buckets from T0."""
        return [self.rate(i * self.bucket + self.bucket / 2) for i in range(n)]


def seasonal_drops(rng):
    """The taxi-like stream with three holidays, a storm and a night surge
    after day 60, >= 8 days apart (day starts); direction both; found
    inside."""
    bucket = 30 * MINUTE
    per_day, n = DAY // bucket, TAXI_DAYS * DAY // bucket
    rates = TaxiRhythm(rng, bucket).rates(n)
    kinds = ["holiday", "holiday", "holiday", "storm", "surge"]
    while True:  # holidays on weekdays; the surge's night inside the stream
        days = spread(rng, 5, 61, TAXI_DAYS - 2, 8)
        rng.shuffle(kinds)
        if all(d % 7 < 5 for d, k in zip(days, kinds) if k == "holiday"):
            break
    events, factors = [], []
    for day, kind in zip(days, kinds):
        if kind == "holiday":
            f = rng.uniform(0.55, 0.70)
            s, e = day * per_day, (day + 1) * per_day
            factors.append(f)
        elif kind == "storm":
            f = 0.2
            s = day * per_day + rng.randrange(per_day)
            e = s + rows(12 * HOUR, bucket)
        else:
            f = 1.6
            s = day * per_day + rows(22 * HOUR, bucket)
            e = s + rows(6 * HOUR, bucket)
        rates[s:e] = [f * r for r in rates[s:e]]
        events.append(Event(kind, s, e, e + rows(2 * HOUR, bucket) + 1))
    counts = [draw(rng, lam, TAXI_ALPHA) for lam in rates]
    return Stream(counts, bucket, events, {"direction": "both"},
                  {"holiday_factors": factors,
                   "days": {k: [d for d, k2 in zip(days, kinds) if k2 == k] for k in set(kinds)}})


GENERATORS = {f.__name__: f for f in (quiet, spikes, close, bots, holidays, silence,
                                      drop, firstday, rare, mid)}
GENERATORS["seasonal-drops"] = seasonal_drops


def generate(name, seed_key, **kw):
    """The stream of generator `name` for one seeded case."""
    return GENERATORS[name](random.Random(seed_key), **kw)
