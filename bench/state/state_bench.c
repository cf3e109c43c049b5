/* SPDX-License-Identifier: MIT */
/*
 * The cost of a rule's detector state (hark issue 18, item 6): for buckets
 * of 1m, 5m, 1h and 1d, a detector warmed on three weeks of a seeded
 * seasonal stream, then timed: detector_step, detector_encode,
 * detector_decode, and the daemon's save (encode + SET into the embedded
 * store + free, as hark.c's save_state) over as many detectors as rules.
 * Single-threaded; runs its own event_base only to drain the store.
 */
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/detect.h"
#include "core/keys.h"
#include "io/store.h"
#include "util/xalloc.h"

#define MIN_MS (60 * 1000LL)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)
#define WARM_DAYS 21
/* 2024-05-13T00:00:00Z, a Monday */
#define T0_MS 1715558400000LL
/* Mentions a minute at the daily mean: a mid-sized brand rule. */
#define RATE_PER_MIN 2.0
/* store.retention's default (8d), times 4 as save_state does. */
#define STATE_TTL_MS (4 * 8 * DAY_MS)
/* Store commands between two drains of the completion queue. */
#define DRAIN_EVERY 256
#define MAX_REPS 31

struct opts {
	long iters; /* timed calls per measurement (at least) */
	int reps;   /* measurements per figure; the median is printed */
	int rules;  /* detectors for the "rules" measurements */
};

static volatile uint64_t sink;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Uniform in (0, 1), a pure function of (t, k). */
static double unit(uint64_t t, uint64_t k)
{
	return ((double)(mix64(t * 31 + k) >> 11) + 0.5) / 9007199254740992.0;
}

/*
 * The count of the bucket [t, t + bucket): Poisson around a daily rhythm
 * (trough at 04:00, peak at 16:00), weekends at 70 %, and one bucket in
 * 400 a burst of five times the usual. Deterministic in (t, seed): each
 * rule draws its own counts around the same rhythm.
 */
static int64_t stream_count(int64_t t, int64_t bucket_ms, uint64_t seed)
{
	double hour = (double)((t % DAY_MS + DAY_MS) % DAY_MS) / HOUR_MS;
	int64_t day = (t - T0_MS) / DAY_MS;
	double shape = 0.25 + 0.75 * (1 - cos(2 * M_PI * (hour - 4) / 24)) / 2;
	double week = (day % 7 == 5 || day % 7 == 6) ? 0.7 : 1.0;
	double lambda =
		RATE_PER_MIN * 2 * shape * week * ((double)bucket_ms / MIN_MS);
	uint64_t key = (uint64_t)(t / bucket_ms) ^ mix64(seed);

	if (unit(key, 7) < 1.0 / 400) {
		lambda *= 5;
	}
	if (lambda < 30) {
		double l = exp(-lambda), p = 1;
		int64_t k = 0;

		for (uint64_t i = 0;; i++) {
			p *= unit(key, 100 + i);
			if (p <= l) {
				return k;
			}
			k++;
		}
	}
	/* Box-Muller: the normal approximation is enough at this size. */
	{
		double z = sqrt(-2 * log(unit(key, 1))) *
			   cos(2 * M_PI * unit(key, 2));
		double x = floor(lambda + sqrt(lambda) * z + 0.5);

		return x < 0 ? 0 : (int64_t)x;
	}
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of v (sorted in place); lo and hi get the extremes. */
static double median(double *v, int n, double *lo, double *hi)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_dbl);
	if (lo != NULL) {
		*lo = v[0];
		*hi = v[n - 1];
	}
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void restore(struct detector *d, const char *img, size_t len)
{
	if (detector_decode(d, img, len) != 0) {
		fprintf(stderr, "state_bench: the image does not decode\n");
		exit(1);
	}
}

static void drain(struct event_base *base)
{
	event_base_loop(base, EVLOOP_NONBLOCK);
}

/* What one bucket size's phases share. */
struct bench {
	const struct opts *o;
	int64_t bucket_ms, warm_end;
	struct event_base *base;
	struct store *st;
	struct detector *d;      /* the "one detector" of step, enc, dec */
	struct detector **rules; /* o->rules detectors, each its memory */
	char **keys;             /* their state keys */
	char *img;               /* the warm state */
	size_t len;
	long n_rr; /* buckets of the per-rule phases */
};

/* step: one detector, o->iters buckets on from the warm state (the
 * counts drawn beforehand). */
static double phase_step(struct bench *b)
{
	struct detect_result res;
	int64_t *counts = xcalloc((size_t)b->o->iters, sizeof(*counts));
	double t0, ns;

	for (long i = 0; i < b->o->iters; i++) {
		counts[i] = stream_count(b->warm_end + i * b->bucket_ms,
					 b->bucket_ms, 0);
	}
	restore(b->d, b->img, b->len);
	t0 = now_ns();
	for (long i = 0; i < b->o->iters; i++) {
		detector_step(b->d, b->warm_end + i * b->bucket_ms, counts[i],
			      &res);
		sink += (uint64_t)res.action;
	}
	ns = (now_ns() - t0) / (double)b->o->iters;
	free(counts);
	return ns;
}

/* step/R: as a daemon's rules do, every rule closes a bucket, then the
 * next bucket; each rule its own counts (drawn beforehand). */
static double phase_step_rules(struct bench *b)
{
	struct detect_result res;
	size_t n = (size_t)(b->n_rr * b->o->rules);
	int64_t *counts = xcalloc(n, sizeof(*counts));
	double t0, ns;

	for (long i = 0; i < b->n_rr; i++) {
		for (int r = 0; r < b->o->rules; r++) {
			counts[i * b->o->rules + r] =
				stream_count(b->warm_end + i * b->bucket_ms,
					     b->bucket_ms, (uint64_t)r);
		}
	}
	for (int r = 0; r < b->o->rules; r++) {
		restore(b->rules[r], b->img, b->len);
	}
	t0 = now_ns();
	for (long i = 0; i < b->n_rr; i++) {
		int64_t t = b->warm_end + i * b->bucket_ms;

		for (int r = 0; r < b->o->rules; r++) {
			detector_step(b->rules[r], t,
				      counts[i * b->o->rules + r], &res);
			sink += (uint64_t)res.action;
		}
	}
	ns = (now_ns() - t0) / (double)(b->n_rr * b->o->rules);
	free(counts);
	return ns;
}

/* enc: detector_encode + free of one detector again and again (its
 * memory stays in cache). */
static double phase_enc(struct bench *b)
{
	double t0;

	restore(b->d, b->img, b->len);
	t0 = now_ns();
	for (long i = 0; i < b->o->iters; i++) {
		size_t n;
		char *e = detector_encode(b->d, &n);

		sink += (uint64_t)(unsigned char)e[n / 2];
		free(e);
	}
	return (now_ns() - t0) / (double)b->o->iters;
}

/* enc/R: each rule's detector in turn. */
static double phase_enc_rules(struct bench *b)
{
	double t0 = now_ns();

	for (long i = 0; i < b->n_rr; i++) {
		for (int r = 0; r < b->o->rules; r++) {
			size_t n;
			char *e = detector_encode(b->rules[r], &n);

			sink += (uint64_t)(unsigned char)e[n / 2];
			free(e);
		}
	}
	return (now_ns() - t0) / (double)(b->n_rr * b->o->rules);
}

/* dec: detector_decode of the warm image (a restore at start or on a
 * reload). */
static double phase_dec(struct bench *b)
{
	double t0 = now_ns();

	for (long i = 0; i < b->o->iters; i++) {
		sink += (uint64_t)detector_decode(b->d, b->img, b->len);
	}
	return (now_ns() - t0) / (double)b->o->iters;
}

/* save/R: hark.c's save_state for each rule in turn: encode, SET the
 * image into the embedded store under the rule's key, free; the
 * completions are drained every DRAIN_EVERY commands (harkd's loop runs
 * them between two events). */
static double phase_save_rules(struct bench *b)
{
	double t0 = now_ns();

	for (long i = 0; i < b->n_rr; i++) {
		for (int r = 0; r < b->o->rules; r++) {
			size_t n;
			char *e = detector_encode(b->rules[r], &n);

			store_set(b->st, b->keys[r], e, n, STATE_TTL_MS, NULL,
				  NULL);
			free(e);
			if ((i * b->o->rules + r) % DRAIN_EVERY == 0) {
				drain(b->base);
			}
		}
	}
	drain(b->base);
	return (now_ns() - t0) / (double)(b->n_rr * b->o->rules);
}

enum phase {
	PHASE_STEP,
	PHASE_STEP_RULES,
	PHASE_ENC,
	PHASE_ENC_RULES,
	PHASE_DEC,
	PHASE_SAVE_RULES,
	N_PHASES,
};

static const struct {
	const char *name; /* for -p */
	const char *column;
	double (*run)(struct bench *b);
} phases[N_PHASES] = {
	[PHASE_STEP] = {"step", "step ns", phase_step},
	[PHASE_STEP_RULES] = {"step-rules", "step/R ns", phase_step_rules},
	[PHASE_ENC] = {"enc", "enc ns", phase_enc},
	[PHASE_ENC_RULES] = {"enc-rules", "enc/R ns", phase_enc_rules},
	[PHASE_DEC] = {"dec", "dec ns", phase_dec},
	[PHASE_SAVE_RULES] = {"save-rules", "save/R ns", phase_save_rules},
};

static void closed_cb(void *arg)
{
	*(bool *)arg = true;
}

/*
 * Warms a detector for bucket_ms, then runs each phase in `mask` o->reps
 * times, in turn; ns[phase] gets the median, lo/hi the extremes (NAN for a
 * phase not run). Returns the image size in bytes.
 */
static size_t measure(const struct opts *o, unsigned mask, int64_t bucket_ms,
		      struct event_base *base, double *ns, double *lo,
		      double *hi)
{
	struct detect_params p;
	struct detect_result res;
	struct bench b;
	double v[N_PHASES][MAX_REPS];
	char err[256];
	bool closed = false;

	memset(&b, 0, sizeof(b));
	b.o = o;
	b.bucket_ms = bucket_ms;
	b.warm_end = T0_MS + WARM_DAYS * DAY_MS;
	b.base = base;
	b.n_rr = (o->iters + o->rules - 1) / o->rules;
	detect_params_default(&p, bucket_ms);
	b.d = detector_new(&p);
	for (int64_t t = T0_MS; t < b.warm_end; t += bucket_ms) {
		detector_step(b.d, t, stream_count(t, bucket_ms, 0), &res);
	}
	b.img = detector_encode(b.d, &b.len);
	b.rules = xcalloc((size_t)o->rules, sizeof(*b.rules));
	b.keys = xcalloc((size_t)o->rules, sizeof(*b.keys));
	for (int r = 0; r < o->rules; r++) {
		char name[32];

		snprintf(name, sizeof(name), "kw%05d", r);
		b.rules[r] = detector_new(&p);
		restore(b.rules[r], b.img, b.len);
		b.keys[r] = keys_state("hark:", name);
	}
	b.st = store_mem_new(base, NULL, err, sizeof(err));
	if (b.st == NULL) {
		fprintf(stderr, "state_bench: store: %s\n", err);
		exit(1);
	}
	for (int k = 0; k < o->reps; k++) {
		for (int i = 0; i < N_PHASES; i++) {
			if (mask & (1u << i)) {
				v[i][k] = phases[i].run(&b);
			}
		}
	}
	for (int i = 0; i < N_PHASES; i++) {
		ns[i] = lo[i] = hi[i] = NAN;
		if (mask & (1u << i)) {
			ns[i] = median(v[i], o->reps, &lo[i], &hi[i]);
		}
	}
	store_close(b.st, closed_cb, &closed);
	while (!closed) {
		event_base_loop(base, EVLOOP_ONCE);
	}
	store_free(b.st);
	for (int r = 0; r < o->rules; r++) {
		detector_free(b.rules[r]);
		free(b.keys[r]);
	}
	free(b.rules);
	free(b.keys);
	free(b.img);
	detector_free(b.d);
	return b.len;
}

static long parse_long(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "state_bench: bad number: %s\n", s);
		exit(2);
	}
	return v;
}

static void usage(void)
{
	fprintf(stderr, "usage: state_bench [-n CALLS] [-r REPEATS] "
			"[-R RULES] [-b 1m|5m|1h|1d] [-p PHASE]...\n"
			"PHASE: step, step-rules, enc, enc-rules, dec, "
			"save-rules (default: all)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int64_t ms;
	} buckets[] = {{"1m", MIN_MS},
		       {"5m", 5 * MIN_MS},
		       {"1h", HOUR_MS},
		       {"1d", DAY_MS}};
	struct opts o = {100000, 5, 1000};
	const char *only = NULL;
	unsigned mask = 0;
	struct event_base *base;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc) {
			usage();
		}
		if (strcmp(argv[i], "-n") == 0) {
			o.iters = parse_long(argv[++i], 1, 100000000);
		} else if (strcmp(argv[i], "-r") == 0) {
			o.reps = (int)parse_long(argv[++i], 1, MAX_REPS);
		} else if (strcmp(argv[i], "-R") == 0) {
			o.rules = (int)parse_long(argv[++i], 1, 100000);
		} else if (strcmp(argv[i], "-b") == 0) {
			only = argv[++i];
		} else if (strcmp(argv[i], "-p") == 0) {
			int k = 0;

			i++;
			while (k < N_PHASES &&
			       strcmp(argv[i], phases[k].name)) {
				k++;
			}
			if (k == N_PHASES) {
				usage();
			}
			mask |= 1u << k;
		} else {
			usage();
		}
	}
	if (mask == 0) {
		mask = (1u << N_PHASES) - 1;
	}
	base = event_base_new();
	if (base == NULL) {
		fprintf(stderr, "state_bench: event_base_new failed\n");
		return 1;
	}
	printf("state_bench: %ld calls per figure (/R: %d rules x %ld "
	       "buckets), median of %d runs, detectors warmed on %d days\n\n",
	       o.iters, o.rules, (o.iters + o.rules - 1) / o.rules, o.reps,
	       WARM_DAYS);
	printf("%-6s %8s", "bucket", "image B");
	for (int k = 0; k < N_PHASES; k++) {
		printf(" %10s", phases[k].column);
	}
	printf(" %12s\n", "B/rule/day");
	fflush(stdout);
	for (size_t i = 0; i < sizeof(buckets) / sizeof(buckets[0]); i++) {
		double ns[N_PHASES], lo[N_PHASES], hi[N_PHASES];
		size_t len;

		if (only != NULL && strcmp(only, buckets[i].name) != 0) {
			continue;
		}
		len = measure(&o, mask, buckets[i].ms, base, ns, lo, hi);
		printf("%-6s %8zu", buckets[i].name, len);
		for (int k = 0; k < N_PHASES; k++) {
			printf(" %10.0f", ns[k]);
		}
		printf(" %12.0f\n",
		       (double)len * (double)(DAY_MS / buckets[i].ms));
		printf("%-6s %8s", "", "min-max");
		for (int k = 0; k < N_PHASES; k++) {
			char r[32];

			snprintf(r, sizeof(r), "%.0f-%.0f", lo[k], hi[k]);
			printf(" %10s", (mask & (1u << k)) ? r : "-");
		}
		printf("\n");
		fflush(stdout);
	}
	printf("\nstep: detector_step, one detector, consecutive buckets; "
	       "/R: %d detectors (one per rule), each stepped, encoded or "
	       "saved in turn, bucket after bucket\n"
	       "enc: detector_encode + free; dec: detector_decode; save: "
	       "encode + SET into the embedded store + free (hark.c "
	       "save_state)\n"
	       "B/rule/day: state bytes a harkd writes per rule per day "
	       "(image x buckets a day)\n",
	       o.rules);
	event_base_free(base);
	return 0;
}
