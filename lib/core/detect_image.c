/* SPDX-License-Identifier: MIT */
/*
 * The detector's saved state: a binary image written after every bucket
 * and read back at start (from the store, so untrusted: every value is
 * checked before a detector takes it).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect_impl.h"
#include "util/xalloc.h"

/*
 * Layout (native byte order, as the store is read by the same kind of
 * machine): "HKD2", version, bucket_ms, slots, recent, then the scalars in
 * CORE_FIELDS order, the per-span learners, the slot ring (float32), the
 * recent counts and usuals, the daily peaks and the last result.
 */
struct image {
	char *p;
	size_t len, off;
	bool bad;
};

/* Writes the image, or only measures it when p is NULL (so the image is
 * allocated once, at its size). */
struct writer {
	char *p;
	size_t off;
};

static void put(struct writer *w, const void *v, size_t n)
{
	if (w->p != NULL) {
		memcpy(w->p + w->off, v, n);
	}
	w->off += n;
}

static void get(struct image *im, void *v, size_t n)
{
	if (im->bad || im->len - im->off < n) {
		im->bad = true;
		memset(v, 0, n);
		return;
	}
	memcpy(v, im->p + im->off, n);
	im->off += n;
}

static void put_result(struct writer *b, const struct detect_result *r)
{
	int64_t i64[] = {r->start_ms,   r->end_ms,         r->count,
			 r->span_count, r->fired_start_ms, r->record,
			 r->span,       r->record_days,    r->reason,
			 r->state,      r->action,         r->anomalous,
			 r->escalation};
	double f64[] = {r->baseline, r->ratio, r->score, r->threshold,
			r->span_baseline};

	put(b, i64, sizeof(i64));
	put(b, f64, sizeof(f64));
}

static void get_result(struct image *im, struct detect_result *r)
{
	int64_t i64[13];
	double f64[5];

	get(im, i64, sizeof(i64));
	get(im, f64, sizeof(f64));
	memset(r, 0, sizeof(*r));
	r->start_ms = i64[0];
	r->end_ms = i64[1];
	r->count = i64[2];
	r->span_count = i64[3];
	r->fired_start_ms = i64[4];
	r->record = i64[5];
	if (i64[6] < 0 || i64[6] > RECENT_MAX || i64[7] < 0 ||
	    i64[7] > PEAK_DAYS || i64[8] < 0 || i64[8] > DETECT_WHY_RESOLVED ||
	    i64[9] < 0 || i64[9] > DETECT_STATE_FIRING || i64[10] < 0 ||
	    i64[10] > DETECT_RESOLVE || (uint64_t)i64[11] > 1 ||
	    (uint64_t)i64[12] > 1) {
		im->bad = true;
		return;
	}
	r->span = (int)i64[6];
	r->record_days = (int)i64[7];
	r->reason = (enum detect_reason)i64[8];
	r->state = (enum detect_state)i64[9];
	r->action = (enum detect_action)i64[10];
	r->anomalous = i64[11] != 0;
	r->escalation = i64[12] != 0;
	r->baseline = f64[0];
	r->ratio = f64[1];
	r->score = f64[2];
	r->threshold = f64[3];
	r->span_baseline = f64[4];
	for (int i = 0; i < 5; i++) {
		if (!isfinite(f64[i])) {
			im->bad = true;
		}
	}
}

/* The learned arrays, in the image's order. */
struct part {
	void *p;
	size_t n;
};

#define MAX_PARTS 12

static int parts(const struct detector *d, struct part *out)
{
	struct part all[MAX_PARTS] = {
		{(void *)d->a_num, sizeof(d->a_num)},
		{(void *)d->a_den, sizeof(d->a_den)},
		{(void *)d->m_mean, sizeof(d->m_mean)},
		{(void *)d->wd_sum, sizeof(d->wd_sum)},
		{(void *)d->wd_n, sizeof(d->wd_n)},
		{(void *)d->peak_ex, sizeof(d->peak_ex)},
		{(void *)d->peak_ct, sizeof(d->peak_ct)},
		{d->slots, sizeof(d->slots[0]) * (size_t)d->ring},
		{d->rx, sizeof(d->rx[0]) * (size_t)d->recent},
		{d->rmu, sizeof(d->rmu[0]) * (size_t)d->recent},
		{d->days_ex, sizeof(d->days_ex[0]) * PEAK_DAYS},
		{d->days_ct, sizeof(d->days_ct[0]) * PEAK_DAYS},
	};

	memcpy(out, all, sizeof(all));
	return MAX_PARTS;
}

static void write_image(const struct detector *d, struct writer *w)
{
	struct part part[MAX_PARTS];
	int n;
	uint32_t head[4] = {ENCODE_VERSION, (uint32_t)d->ring,
			    (uint32_t)d->recent, PEAK_DAYS};

	put(w, ENCODE_MAGIC, 4);
	put(w, head, sizeof(head));
	put(w, &d->p.bucket_ms, sizeof(d->p.bucket_ms));
#define PUT(t, n) put(w, &d->n, sizeof(d->n));
	CORE_FIELDS(PUT)
#undef PUT
	n = parts(d, part);
	for (int i = 0; i < n; i++) {
		put(w, part[i].p, part[i].n);
	}
	put_result(w, &d->last);
}

char *detector_encode(const struct detector *d, size_t *len_out)
{
	struct writer w = {NULL, 0};

	write_image(d, &w);
	w.p = xmalloc(w.off + 1);
	w.p[w.off] = '\0';
	*len_out = w.off;
	w.off = 0;
	write_image(d, &w);
	return w.p;
}

static bool finite_or_nan(const double *v, size_t n, bool nan_ok)
{
	for (size_t i = 0; i < n; i++) {
		if (isinf(v[i]) || (!nan_ok && isnan(v[i]))) {
			return false;
		}
	}
	return true;
}

static bool floats_ok(const float *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (isinf(v[i]) || v[i] < 0 || v[i] > 1e30f) {
			return false;
		}
	}
	return true;
}

/* What a decoded state must hold for every later step to be sound. */
static bool sane(const struct detector *t)
{
	double scal[] = {t->slot_acc, t->lvl_num, t->lvl_den,  t->ew_num,
			 t->ew_w,     t->err_day, t->err_week, t->ep_peak,
			 t->ep_rel,   t->day_x,   t->day_s};

	if (!finite_or_nan(scal, sizeof(scal) / sizeof(scal[0]), false) ||
	    !finite_or_nan(t->a_num, MAX_SPANS, false) ||
	    !finite_or_nan(t->a_den, MAX_SPANS, false) ||
	    !finite_or_nan(t->m_mean, MAX_SPANS, false) ||
	    !finite_or_nan(t->wd_sum, 7, false) ||
	    !finite_or_nan(t->wd_n, 7, false) ||
	    !finite_or_nan(t->peak_ex, MAX_SPANS, true) ||
	    !finite_or_nan(t->peak_ct, MAX_SPANS, true) ||
	    !finite_or_nan(t->rx, (size_t)t->recent, false) ||
	    !finite_or_nan(t->rmu, (size_t)t->recent, false)) {
		return false;
	}
	for (int i = 0; i < t->recent; i++) {
		if (t->rx[i] < 0 || t->rmu[i] < 0 || t->rx[i] > COUNT_MAX ||
		    t->rmu[i] > MU_MAX) {
			return false;
		}
	}
	if (t->slot_acc < 0 || t->lvl_num < 0 || t->lvl_den < 0 ||
	    t->ew_num < 0 || t->ew_w < 0 || t->err_day < 0 || t->err_week < 0 ||
	    t->slot_acc > 1e30 || t->lvl_num > 1e30 || t->lvl_den > 1e30 ||
	    t->ew_num > 1e30 || t->ew_w > 1e9 || t->err_day > 1e30 ||
	    t->err_week > 1e30 || t->ep_peak < 0 || t->ep_peak > 1e15 ||
	    t->ep_rel < 0 || t->ep_rel > 1e15) {
		return false;
	}
	for (int i = 0; i < 7; i++) {
		if (t->wd_sum[i] < 0 || t->wd_n[i] < 0 || t->wd_sum[i] > 1e9 ||
		    t->wd_n[i] > 100) {
			return false;
		}
	}
	if (t->day_x < 0 || t->day_s < 0 || t->day_x > 1e30 ||
	    t->day_s > 1e30) {
		return false;
	}
	for (int i = 0; i < MAX_SPANS; i++) {
		/* Today's peaks become the daily peaks: same bounds. */
		if (t->peak_ct[i] < 0 || t->peak_ct[i] > 1e30 ||
		    fabs(t->peak_ex[i]) > 1e30) {
			return false;
		}
	}
	for (int i = 0; i < MAX_SPANS; i++) {
		if (t->a_den[i] < 0 || fabs(t->a_num[i]) > 1e60 ||
		    t->a_den[i] > 1e60 || t->m_mean[i] < 0 ||
		    t->m_mean[i] > 1e18) {
			return false;
		}
	}
	if (!floats_ok(t->slots, (size_t)t->ring) ||
	    !floats_ok(&t->days_ct[0][0], PEAK_DAYS * MAX_SPANS)) {
		return false;
	}
	for (size_t i = 0; i < PEAK_DAYS * MAX_SPANS; i++) {
		float x = (&t->days_ex[0][0])[i];

		if (isinf(x) || fabsf(x) > 1e30f) {
			return false;
		}
	}
	/* Times: a step moves next_start by one bucket, so keep every time
	 * far from overflow; counters and enums in range. */
	if (t->n_steps < 0 || t->slot_n < 0 || t->slot_n > t->bps ||
	    t->state < DETECT_STATE_WARMING || t->state > DETECT_STATE_FIRING ||
	    t->ep_dir < -1 || t->ep_dir > 1 || t->calm_run < 0 ||
	    t->calm_run > (int64_t)1 << 40) {
		return false;
	}
	if (t->n_steps == 0) {
		/* Fresh, or begun and not stepped yet. */
		return t->next_start == t->begin_ms &&
		       (t->next_start == INT64_MIN ||
			llabs(t->next_start) <= (int64_t)1 << 60);
	}
	if (llabs(t->next_start) > (int64_t)1 << 60 ||
	    llabs(t->begin_ms) > (int64_t)1 << 60 ||
	    llabs(t->fired_start) > (int64_t)1 << 60 ||
	    (t->cooldown_until != INT64_MIN &&
	     llabs(t->cooldown_until) > (int64_t)1 << 61) ||
	    t->slot_abs !=
		    floor_div(t->next_start - t->p.bucket_ms, t->slot_ms) ||
	    t->peak_day != floor_div(t->next_start - t->p.bucket_ms, DAY_MS) ||
	    (t->first_slot != INT64_MAX && t->first_slot > t->slot_abs)) {
		return false;
	}
	return true;
}

int detector_decode(struct detector *d, const char *buf, size_t len)
{
	struct part part[MAX_PARTS];
	int n;
	struct image im = {(char *)buf, len, 0, false};
	struct detector *t;
	char magic[4];
	uint32_t head[4];
	int64_t bucket;
	int rc = -1;

	get(&im, magic, 4);
	get(&im, head, sizeof(head));
	get(&im, &bucket, sizeof(bucket));
	if (im.bad || memcmp(magic, ENCODE_MAGIC, 4) != 0 ||
	    head[0] != ENCODE_VERSION || head[1] != (uint32_t)d->ring ||
	    head[2] != (uint32_t)d->recent || head[3] != PEAK_DAYS ||
	    bucket != d->p.bucket_ms) {
		return -1;
	}
	t = detector_new(&d->p);
#define GET(ty, n) get(&im, &t->n, sizeof(t->n));
	CORE_FIELDS(GET)
#undef GET
	n = parts(t, part);
	for (int i = 0; i < n; i++) {
		get(&im, part[i].p, part[i].n);
	}
	get_result(&im, &t->last);
	if (!im.bad && im.off == len && sane(t)) {
		/* Swap the learned parts in; d keeps its own parameters. */
		struct detector keep = *d;

		*d = *t;
		d->p = keep.p;
		*t = keep;
		rc = 0;
	}
	detector_free(t);
	return rc;
}
