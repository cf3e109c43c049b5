/* SPDX-License-Identifier: MIT */
/*
 * HTTP API on evhttp: health, readiness, metrics, rules and push ingest.
 * Handlers run on the loop, call into struct hark for the bodies and
 * answer before they return; evhttp enforces the body limit (413), the
 * gate (httpgate.c) the connection cap, head size and timeouts.
 */
#include "io/api.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "config/config.h"
#include "core/idem.h"
#include "core/points.h"
#include "daemon/intake.h"
#include "daemon/fleet.h"
#include "daemon/views.h"
#include "hark.h"
#include "io/webui.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/timeutil.h"

/* Replies are built in memory; a /metrics page of 10,000 rules fits. */
#define API_MAX_REPLY_BYTES (64u * 1024 * 1024)
/* Idempotency-Key answers kept: a client retries within minutes, and
 * every retry window a team's scripts use fits in a day; a push's answer
 * is under 40 KB (100 errors listed at most). */
#define API_IDEM_KEYS 10000
#define API_IDEM_BYTES (16u * 1024 * 1024)
#define API_IDEM_TTL_MS (24 * 3600 * 1000LL)

/* A push being counted, until its answer. */
struct push_ctx {
	struct api *a;
	struct evhttp_request *req;
	struct push_ctx *prev, *next; /* a->pushes */
	char key[IDEM_MAX_KEY + 1];   /* its Idempotency-Key, or "" */
};

/* A series read from the store, until its answer. */
struct series_ctx {
	struct api *a; /* NULL once the API is gone: nothing to answer */
	struct evhttp_request *req;
	struct series_ctx *prev, *next; /* a->series */
	char *rule;
	int64_t bucket_ms;
	int64_t step_ms; /* the points summed by; the bucket: as judged */
};

struct api {
	struct series_ctx *series; /* reads in flight; they free themselves */
	struct evhttp *http;
	struct httpgate *gate;
	struct hark *h; /* borrowed */
	char *token;    /* owned; NULL when none */
	int port;
	struct idem *idem;       /* owned */
	struct push_ctx *pushes; /* owned; answered ones leave */
};

static void reply(struct evhttp_request *req, int code, const char *reason,
		  const char *ctype, const char *body, size_t len)
{
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", ctype);
	evbuffer_add(out, body, len);
	evhttp_send_reply(req, code, reason, out);
	evbuffer_free(out);
}

static void reply_error(struct evhttp_request *req, int code,
			const char *reason, const char *msg)
{
	char body[512];
	int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", msg);

	reply(req, code, reason, "application/json", body, (size_t)n);
}

static bool method_is(struct evhttp_request *req, enum evhttp_cmd_type cmd)
{
	return evhttp_request_get_command(req) == cmd;
}

/* Constant-time comparison, so the token cannot be guessed by timing. */
static bool token_ok(const struct api *a, struct evhttp_request *req)
{
	const char *auth;
	const char *given;
	size_t la, lb;
	unsigned char diff = 0;

	if (a->token == NULL) {
		return true;
	}
	auth = evhttp_find_header(evhttp_request_get_input_headers(req),
				  "Authorization");
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0) {
		return false;
	}
	given = auth + 7;
	la = strlen(given);
	lb = strlen(a->token);
	for (size_t i = 0; i < la && i < lb; i++) {
		diff |= (unsigned char)(given[i] ^ a->token[i]);
	}
	return diff == 0 && la == lb;
}

static void push_unlink(struct push_ctx *c)
{
	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else {
		c->a->pushes = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	}
}

static void send_push_reply(struct evhttp_request *req, int code,
			    const char *json, size_t len)
{
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", "application/json");
	evbuffer_add(out, json, len);
	evbuffer_add(out, "\n", 1);
	evhttp_send_reply(req, code, code == 202 ? "Accepted" : "OK", out);
	evbuffer_free(out);
}

/* The 202 of a push, once the intake has counted it (the request
 * outlives a client gone meanwhile: libevent frees it on reply); kept for
 * its Idempotency-Key. */
static void push_reply(void *arg, const char *json, size_t len)
{
	struct push_ctx *c = arg;

	if (c->key[0] != '\0') {
		idem_finish(c->a->idem, c->key, 202, json, len);
	}
	send_push_reply(c->req, 202, json, len);
	push_unlink(c);
	free(c);
}

/*
 * The Idempotency-Key of a push, if it has one: false when the request
 * was answered here (a repeat, a key in use, a bad key); else *c is the
 * push's context, pending under its key.
 */
static bool push_begin(struct api *a, struct evhttp_request *req,
		       const char *body, size_t len, struct push_ctx **c)
{
	const char *key = evhttp_find_header(
		evhttp_request_get_input_headers(req), "Idempotency-Key");
	struct idem_reply r;

	*c = xcalloc(1, sizeof(**c));
	(*c)->a = a;
	(*c)->req = req;
	if (key == NULL) {
		return true;
	}
	if (!idem_key_ok(key)) {
		reply_error(req, 400, "Bad Request",
			    "Idempotency-Key: 1 to 255 visible ASCII "
			    "characters");
		free(*c);
		return false;
	}
	switch (idem_begin(a->idem, key, idem_digest(body, len),
			   timeutil_now_ms(), &r)) {
	case IDEM_NEW:
		snprintf((*c)->key, sizeof((*c)->key), "%s", key);
		return true;
	case IDEM_DONE:
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Idempotent-Replayed", "true");
		send_push_reply(req, r.status, r.body, r.len);
		break;
	case IDEM_PENDING:
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Retry-After", "1");
		reply_error(req, 409, "Conflict",
			    "a push with this Idempotency-Key is being "
			    "counted; retry");
		break;
	case IDEM_MISMATCH:
		reply_error(req, 422, "Unprocessable Content",
			    "Idempotency-Key already used with another body");
		break;
	}
	free(*c);
	return false;
}

static void handle_mentions(struct api *a, struct evhttp_request *req)
{
	struct evbuffer *in;
	size_t len;
	const char *body;
	int source = hark_push_source(a->h);
	struct push_ctx *c;

	if (!method_is(req, EVHTTP_REQ_POST)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Allow", "POST");
		reply_error(req, 405, "Method Not Allowed", "use POST");
		return;
	}
	if (!token_ok(a, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "WWW-Authenticate", "Bearer realm=\"hark\"");
		reply_error(req, 401, "Unauthorized",
			    "missing or wrong bearer token");
		return;
	}
	/* A config without any source takes pushes (the smallest useful
	 * config); one that lists sources must name an http-push one. */
	if (source < 0 && hark_config(a->h)->n_sources > 0) {
		reply_error(req, 404, "Not Found",
			    "no http-push source is configured");
		return;
	}
	in = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(in);
	body = (const char *)evbuffer_pullup(in, -1);
	if (body == NULL) {
		body = "";
	}
	if (!push_begin(a, req, body, len, &c)) {
		return;
	}
	/* Listed first: the intake may answer before it returns. */
	c->next = a->pushes;
	if (a->pushes != NULL) {
		a->pushes->prev = c;
	}
	a->pushes = c;
	switch (intake_push(hark_intake(a->h), source,
			    hark_source_name(a->h, source), body, len,
			    push_reply, c)) {
	case INTAKE_QUEUED:
		return;
	case INTAKE_BUSY:
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Retry-After", "1");
		reply_error(req, 503, "Service Unavailable",
			    "busy: the workers are behind; retry");
		break;
	case INTAKE_CLOSED:
		reply_error(req, 503, "Service Unavailable", "daemon stopping");
		break;
	}
	/* Not counted: a retry with the key may count. */
	if (c->key[0] != '\0') {
		idem_abort(a->idem, c->key);
	}
	push_unlink(c);
	free(c);
}

static void deny(struct evhttp_request *req)
{
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "WWW-Authenticate", "Bearer realm=\"hark\"");
	reply_error(req, 401, "Unauthorized", "missing or wrong bearer token");
}

static const char *status_reason(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 409:
		return "Conflict";
	default:
		return "Error";
	}
}

/* /v1/silences and /v1/silences/ID: list (GET), create (POST), expire
 * (DELETE). Writes need the token, as every write route does. */
static void handle_silences(struct api *a, struct evhttp_request *req,
			    const char *path)
{
	const char *id = path[strlen("/v1/silences")] == '/'
				 ? path + strlen("/v1/silences/")
				 : NULL;
	struct buf out;
	int code;

	buf_init(&out, API_MAX_REPLY_BYTES);
	if (method_is(req, EVHTTP_REQ_GET) && id == NULL) {
		views_silences_json(a->h, &out);
		reply(req, 200, "OK", "application/json", out.data, out.len);
	} else if (method_is(req, EVHTTP_REQ_POST) && id == NULL) {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		size_t len = evbuffer_get_length(in);
		const char *body = (const char *)evbuffer_pullup(in, -1);

		if (!token_ok(a, req)) {
			deny(req);
		} else {
			code = hark_silence_add(a->h, body != NULL ? body : "",
						len, &out);
			reply(req, code, status_reason(code),
			      "application/json", out.data, out.len);
		}
	} else if (method_is(req, EVHTTP_REQ_DELETE) && id != NULL &&
		   id[0] != '\0') {
		if (!token_ok(a, req)) {
			deny(req);
		} else {
			code = hark_silence_expire(a->h, id);
			if (code == 200) {
				reply(req, 200, "OK", "application/json",
				      "{\"expired\":true}\n", 17);
			} else {
				reply_error(req, code, status_reason(code),
					    "no such silence");
			}
		}
	} else {
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Allow", id == NULL ? "GET, POST" : "DELETE");
		reply_error(req, 405, "Method Not Allowed",
			    "use GET or POST on /v1/silences, DELETE on "
			    "/v1/silences/ID");
	}
	buf_fini(&out);
}

/* An instant of a query: RFC 3339, or unix seconds. */
static int parse_instant(const char *s, int64_t *ms)
{
	char *end;
	long long v;

	if (timeutil_parse_rfc3339(s, strlen(s), ms) == 0) {
		return 0;
	}
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || v < -8640000000LL || v > 8640000000LL) {
		return -1;
	}
	*ms = (int64_t)v * 1000;
	return 0;
}

/* Takes c out of its API's reads in flight; false when the API is gone. */
static bool series_unlink(struct series_ctx *c)
{
	if (c->a == NULL) {
		return false;
	}
	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else {
		c->a->series = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	}
	return true;
}

/* A read's context, in a's list until its answer. */
static struct series_ctx *series_track(struct api *a,
				       struct evhttp_request *req)
{
	struct series_ctx *c = xcalloc(1, sizeof(*c));

	c->a = a;
	c->req = req;
	c->next = a->series;
	if (a->series != NULL) {
		a->series->prev = c;
	}
	a->series = c;
	return c;
}

/* A view answered later (views_text_fn) to its request. */
static void text_cb(void *arg, int status, const char *text, size_t len)
{
	struct series_ctx *c = arg;

	if (series_unlink(c)) {
		if (status != 0) {
			reply_error(c->req, 503, "Service Unavailable",
				    "the store did not answer; retry");
		} else {
			send_push_reply(c->req, 200, text, len);
		}
	}
	free(c->rule);
	free(c);
}

static void series_cb(void *arg, int status, const struct point *v, size_t n)
{
	struct series_ctx *c = arg;

	if (series_unlink(c)) {
		if (status != 0) {
			reply_error(c->req, 503, "Service Unavailable",
				    "the store did not answer; retry");
		} else {
			size_t len, m = n;
			char *text;

			/* v is the reader's, handed for this answer */
			points_step((struct point *)v, &m, c->step_ms);
			text = chart_json(c->rule, c->bucket_ms, c->step_ms, v,
					  m, &len);

			send_push_reply(c->req, 200, text, len);
			free(text);
		}
	}
	free(c->rule);
	free(c);
}

/*
 * GET /v1/rules/{name}/series?from=&to=&step=: the rule's judged buckets
 * from the store (so every daemon on it shows the same); to defaults to
 * now, from to a day before to; POINTS_MAX buckets at most, or with step
 * (a multiple of the bucket) POINTS_MAX steps of POINTS_READ_MAX buckets.
 */
static void handle_series(struct api *a, struct evhttp_request *req,
			  const char *name)
{
	const char *query =
		evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq params;
	const char *from, *to, *step;
	int64_t from_ms, to_ms, step_ms,
		bucket = views_rule_bucket_ms(a->h, name);
	struct series_ctx *c;
	char msg[160];

	if (bucket <= 0) {
		reply_error(req, 404, "Not Found", "no such rule");
		return;
	}
	TAILQ_INIT(&params);
	if (query != NULL && evhttp_parse_query_str(query, &params) < 0) {
		reply_error(req, 400, "Bad Request", "malformed query string");
		return;
	}
	from = evhttp_find_header(&params, "from");
	to = evhttp_find_header(&params, "to");
	step = evhttp_find_header(&params, "step");
	step_ms = bucket;
	if (step != NULL) {
		const char *why;

		if (timeutil_parse_duration(step, &step_ms, &why) < 0 ||
		    step_ms < bucket || step_ms % bucket != 0) {
			reply_error(req, 400, "Bad Request",
				    "step: expected a duration that is a "
				    "multiple of the rule's bucket");
			goto out;
		}
	}
	to_ms = timeutil_now_ms();
	if ((to != NULL && parse_instant(to, &to_ms) < 0) ||
	    (from != NULL && parse_instant(from, &from_ms) < 0)) {
		reply_error(req, 400, "Bad Request",
			    "from, to: expected an RFC 3339 time or unix "
			    "seconds");
		goto out;
	}
	if (from == NULL) {
		from_ms = to_ms - 86400000LL;
	}
	/* Whole buckets: the one holding from, up to the one holding to. */
	from_ms -= ((from_ms % bucket) + bucket) % bucket;
	if (to_ms <= from_ms) {
		reply_error(req, 400, "Bad Request", "from: must be before to");
		goto out;
	}
	if ((to_ms - from_ms + step_ms - 1) / step_ms > POINTS_MAX ||
	    (to_ms - from_ms + bucket - 1) / bucket > POINTS_READ_MAX) {
		snprintf(msg, sizeof(msg),
			 step_ms == bucket
				 ? "range: at most %d buckets (%lld asked); "
				   "a step sums them"
				 : "range: at most %d steps of at most 100000 "
				   "buckets (%lld buckets asked)",
			 POINTS_MAX,
			 (long long)((to_ms - from_ms + bucket - 1) / bucket));
		reply_error(req, 400, "Bad Request", msg);
		goto out;
	}
	/* Steps start on multiples of step: the first one whole. */
	from_ms -= ((from_ms % step_ms) + step_ms) % step_ms;
	c = series_track(a, req);
	c->rule = xstrdup(name);
	c->bucket_ms = bucket;
	c->step_ms = step_ms;
	views_series(a->h, name, from_ms, to_ms, series_cb, c);
out:
	evhttp_clear_headers(&params);
}

/*
 * GET /v1/rules/{name}/top?at=: what the bucket holding at (RFC 3339 or
 * unix seconds; default the current one) is about (daemon/about).
 */
static void handle_top(struct api *a, struct evhttp_request *req,
		       const char *name)
{
	const char *query =
		evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq params;
	const char *at;
	int64_t at_ms = INT64_MIN;
	struct series_ctx *c;

	TAILQ_INIT(&params);
	if (query != NULL && evhttp_parse_query_str(query, &params) < 0) {
		reply_error(req, 400, "Bad Request", "malformed query string");
		return;
	}
	at = evhttp_find_header(&params, "at");
	if (at != NULL && parse_instant(at, &at_ms) < 0) {
		reply_error(req, 400, "Bad Request",
			    "at: expected an RFC 3339 time or unix seconds");
		goto out;
	}
	if (views_rule_bucket_ms(a->h, name) <= 0) {
		reply_error(req, 404, "Not Found", "no such rule");
		goto out;
	}
	c = series_track(a, req);
	if (views_top(a->h, name, at_ms, text_cb, c) < 0) {
		/* cannot be: the rule was found above, on the same loop */
		series_unlink(c);
		free(c);
		reply_error(req, 404, "Not Found", "no such rule");
	}
out:
	evhttp_clear_headers(&params);
}

/* Rules an overview page shows at most: each draws a sparkline. */
#define API_OVERVIEW_MAX 100
/* The longest range asked: the longest chart the dashboard offers. */
#define API_OVERVIEW_RANGE_MAX (31 * 86400000LL)

/*
 * GET /v1/overview?range=24h&offset=0&limit=24&q=TEXT: a page of rules,
 * firing first, each with its sparkline (views_overview).
 */
static void handle_overview(struct api *a, struct evhttp_request *req)
{
	const char *query =
		evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq params;
	struct views_page q = {86400000LL, 0, 24, NULL};
	const char *range, *offset, *limit, *why;
	char *end;

	TAILQ_INIT(&params);
	if (query != NULL && evhttp_parse_query_str(query, &params) < 0) {
		reply_error(req, 400, "Bad Request", "malformed query string");
		return;
	}
	range = evhttp_find_header(&params, "range");
	offset = evhttp_find_header(&params, "offset");
	limit = evhttp_find_header(&params, "limit");
	q.q = evhttp_find_header(&params, "q");
	if (range != NULL &&
	    (timeutil_parse_duration(range, &q.range_ms, &why) < 0 ||
	     q.range_ms <= 0 || q.range_ms > API_OVERVIEW_RANGE_MAX)) {
		reply_error(req, 400, "Bad Request",
			    "range: expected a duration up to 31d, such as "
			    "24h");
		goto out;
	}
	if (offset != NULL) {
		long v = strtol(offset, &end, 10);

		if (*offset == '\0' || *end != '\0' || v < 0) {
			reply_error(req, 400, "Bad Request",
				    "offset: expected a whole number");
			goto out;
		}
		q.offset = (size_t)v;
	}
	if (limit != NULL) {
		long v = strtol(limit, &end, 10);

		if (*limit == '\0' || *end != '\0' || v <= 0 ||
		    v > API_OVERVIEW_MAX) {
			reply_error(req, 400, "Bad Request",
				    "limit: expected 1 to 100");
			goto out;
		}
		q.limit = (size_t)v;
	}
	views_overview(a->h, &q, text_cb, series_track(a, req));
out:
	evhttp_clear_headers(&params);
}

/* GET /v1/alerts?rule=R&status=firing|resolved|silenced&since=T&limit=N,
 * since being RFC 3339 or a duration back from now ("24h"). */
static void handle_alerts(struct api *a, struct evhttp_request *req)
{
	const char *query =
		evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq params;
	const char *rule, *status, *since, *limit;
	int64_t since_ms = INT64_MIN;
	long n = 0;
	struct buf out;

	TAILQ_INIT(&params);
	if (query != NULL && evhttp_parse_query_str(query, &params) < 0) {
		reply_error(req, 400, "Bad Request", "malformed query string");
		return;
	}
	rule = evhttp_find_header(&params, "rule");
	status = evhttp_find_header(&params, "status");
	since = evhttp_find_header(&params, "since");
	limit = evhttp_find_header(&params, "limit");
	if (status != NULL && strcmp(status, "firing") != 0 &&
	    strcmp(status, "resolved") != 0 &&
	    strcmp(status, "silenced") != 0) {
		reply_error(req, 400, "Bad Request",
			    "status: expected firing, resolved or silenced");
		goto out;
	}
	if (since != NULL) {
		int64_t d;
		const char *why;

		if (timeutil_parse_rfc3339(since, strlen(since), &since_ms) <
		    0) {
			if (timeutil_parse_duration(since, &d, &why) < 0) {
				reply_error(req, 400, "Bad Request",
					    "since: expected an RFC 3339 time "
					    "or a duration such as 24h");
				goto out;
			}
			since_ms = timeutil_now_ms() - d;
		}
	}
	if (limit != NULL) {
		char *end;

		n = strtol(limit, &end, 10);
		if (*end != '\0' || n <= 0) {
			reply_error(req, 400, "Bad Request",
				    "limit: expected a positive integer");
			goto out;
		}
	}
	buf_init(&out, API_MAX_REPLY_BYTES);
	views_alerts_json(a->h, rule, status, since_ms, (size_t)n, &out);
	reply(req, 200, "OK", "application/json", out.data, out.len);
	buf_fini(&out);
out:
	evhttp_clear_headers(&params);
}

/*
 * Whether path is /v1/rules/{name}{tail} with a name: 1 with the name
 * copied into name (size bytes), -1 when it is too long for it, 0 when
 * path is another route.
 */
static int rule_path(const char *path, const char *tail, char *name,
		     size_t size)
{
	size_t lp = strlen(path), lt = strlen(tail), n;

	if (strncmp(path, "/v1/rules/", 10) != 0 || lp <= 10 + lt ||
	    strcmp(path + lp - lt, tail) != 0) {
		return 0;
	}
	n = lp - 10 - lt;
	if (n >= size) {
		return -1;
	}
	memcpy(name, path + 10, n);
	name[n] = '\0';
	return 1;
}

static void request_cb(struct evhttp_request *req, void *arg)
{
	struct api *a = arg;
	const char *path =
		evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct buf out;
	char name[256]; /* a rule's, from /v1/rules/{name}/… */
	int rn = 0, rs = 0;

	if (path == NULL) {
		path = "/";
	}
	/* The gate does not follow a chunked body to its end, so it cannot
	 * watch the next request's head: there is none on this connection. */
	if (evhttp_find_header(evhttp_request_get_input_headers(req),
			       "Transfer-Encoding") != NULL) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Connection", "close");
	}
	if (strcmp(path, "/v1/mentions") == 0) {
		handle_mentions(a, req);
		return;
	}
	if (strcmp(path, "/v1/silences") == 0 ||
	    strncmp(path, "/v1/silences/", 13) == 0) {
		handle_silences(a, req, path);
		return;
	}
	if (!method_is(req, EVHTTP_REQ_GET) &&
	    !method_is(req, EVHTTP_REQ_HEAD)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Allow", "GET, HEAD");
		reply_error(req, 405, "Method Not Allowed", "use GET");
		return;
	}
	buf_init(&out, API_MAX_REPLY_BYTES);
	if (strcmp(path, "/healthz") == 0) {
		reply(req, 200, "OK", "text/plain", "ok\n", 3);
	} else if (strcmp(path, "/readyz") == 0) {
		if (hark_store_up(a->h)) {
			reply(req, 200, "OK", "text/plain", "ready\n", 6);
		} else {
			reply(req, 503, "Service Unavailable", "text/plain",
			      "store unreachable\n", 18);
		}
	} else if (webui_route(path)) {
		webui_answer(req, path);
	} else if (strcmp(path, "/metrics") == 0) {
		views_metrics_text(a->h, &out);
		reply(req, 200, "OK",
		      "text/plain; version=0.0.4; charset=utf-8", out.data,
		      out.len);
	} else if (strcmp(path, "/v1/sources") == 0) {
		views_sources_json(a->h, &out);
		if (buf_putc(&out, '\n') < 0) {
			buf_reset(&out);
		}
		reply(req, 200, "OK", "application/json", out.data, out.len);
	} else if (strcmp(path, "/v1/cluster") == 0) {
		fleet_json(a->h, &out);
		if (buf_putc(&out, '\n') < 0) {
			buf_reset(&out);
		}
		reply(req, 200, "OK", "application/json", out.data, out.len);
	} else if (strcmp(path, "/v1/alerts") == 0) {
		handle_alerts(a, req);
	} else if (strcmp(path, "/v1/overview") == 0) {
		handle_overview(a, req);
	} else if ((rn = rule_path(path, "/top", name, sizeof(name))) != 0 ||
		   (rs = rule_path(path, "/series", name, sizeof(name))) != 0) {
		if (rn < 0 || rs < 0) {
			reply_error(req, 404, "Not Found", "no such rule");
		} else if (rn > 0) {
			handle_top(a, req, name);
		} else {
			handle_series(a, req, name);
		}
	} else if (strcmp(path, "/v1/rules") == 0) {
		views_rules_json(a->h, &out);
		if (buf_putc(&out, '\n') < 0) {
			buf_reset(&out);
		}
		reply(req, 200, "OK", "application/json", out.data, out.len);
	} else {
		reply_error(req, 404, "Not Found", "no such route");
	}
	buf_fini(&out);
}

static int split_listen(const char *listen, char *host, size_t hostlen,
			int *port)
{
	const char *colon = strrchr(listen, ':');
	size_t n;
	char *end;
	long p;

	if (colon == NULL) {
		return -1;
	}
	n = (size_t)(colon - listen);
	if (n > 0 && listen[0] == '[' && listen[n - 1] == ']') {
		listen++;
		n -= 2;
	}
	if (n == 0 || n >= hostlen) {
		return -1;
	}
	memcpy(host, listen, n);
	host[n] = '\0';
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p < 0 || p > 65535) {
		return -1;
	}
	*port = (int)p;
	return 0;
}

struct api *api_start(struct event_base *base, struct hark *h,
		      const char *listen, const char *token,
		      uint64_t max_body_bytes,
		      const struct httpgate_limits *lim)
{
	struct api *a = xcalloc(1, sizeof(*a));
	struct evhttp_bound_socket *bound;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[256];
	int port;

	a->h = h;
	a->token = token != NULL && token[0] != '\0' ? xstrdup(token) : NULL;
	a->idem = idem_new(API_IDEM_KEYS, API_IDEM_BYTES, API_IDEM_TTL_MS);
	if (split_listen(listen, host, sizeof(host), &port) < 0) {
		log_error("api", "bad listen address \"%s\"", listen);
		goto fail;
	}
	a->http = evhttp_new(base);
	evhttp_set_max_body_size(a->http, (ev_ssize_t)max_body_bytes);
	evhttp_set_allowed_methods(
		a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
				 EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	/* Read and discard an oversized body so that the client sees the
	 * 413 instead of a reset. */
	evhttp_set_flags(a->http, EVHTTP_SERVER_LINGERING_CLOSE);
	a->gate = httpgate_new(base, a->http, lim);
	evhttp_set_gencb(a->http, request_cb, a);
	bound = evhttp_bind_socket_with_handle(a->http, host, (uint16_t)port);
	if (bound == NULL) {
		log_error("api", "cannot listen on %s", listen);
		goto fail;
	}
	if (getsockname(evhttp_bound_socket_get_fd(bound),
			(struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			a->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			a->port =
				ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		}
	}
	log_info("api", "listening on %s port=%d", host, a->port);
	return a;
fail:
	api_free(a);
	return NULL;
}

int api_port(const struct api *a)
{
	return a->port;
}

struct httpgate_stats api_gate_stats(const struct api *a)
{
	return httpgate_stats(a->gate);
}

void api_free(struct api *a)
{
	if (a == NULL) {
		return;
	}
	if (a->http != NULL) {
		evhttp_free(a->http);
	}
	/* after evhttp_free, whose connections tell the gate they close */
	httpgate_free(a->gate);
	/* Pushes never answered (the intake went first): their requests
	 * went with evhttp. */
	while (a->pushes != NULL) {
		struct push_ctx *c = a->pushes;

		a->pushes = c->next;
		free(c);
	}
	/* Reads in flight answer nobody (their requests went with evhttp)
	 * and free themselves. */
	for (struct series_ctx *c = a->series; c != NULL; c = c->next) {
		c->a = NULL;
	}
	idem_free(a->idem);
	free(a->token);
	free(a);
}
