/* SPDX-License-Identifier: MIT */
/*
 * The API's connection limits. evhttp asks for each new connection's
 * bufferevent (evhttp_set_bevcb); the gate makes it, counts it, and puts a
 * callback on its input buffer that sees every byte before evhttp parses
 * it: a small scanner finds where each request head ends and skips the
 * body by its Content-Length. evhttp's idle timeout and parsing are kept.
 * Connections are closed with shutdown(2), so that evhttp frees them on
 * its own EOF path (which leaves a request a handler still holds alive);
 * the gate learns of the free through the connection's close callback.
 * Runs on the loop.
 */
#include "io/httpgate.h"

#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "util/log.h"
#include "util/xalloc.h"

#define PEEK_VECS 8

/* The two header names the scanner reads; a line is matched byte by byte
 * as it comes, so that no part of it is kept. */
static const char name_cl[] = "content-length";
static const char name_te[] = "transfer-encoding";

enum line_kind {
	LINE_NAME,  /* before the colon */
	LINE_CL,    /* Content-Length's value */
	LINE_TE,    /* Transfer-Encoding's value */
	LINE_OTHER, /* any other line, or the request line */
};

struct line {
	enum line_kind kind;
	size_t len;       /* bytes so far, CR included */
	char first;       /* the first of them */
	bool cl, te;      /* the name read so far is a prefix of that one */
	bool digits, end; /* CL: digits seen; then only blanks */
	bool bad;         /* CL: not a plain decimal number */
	uint64_t value;
};

enum head_state {
	HEAD,      /* reading a request line and headers */
	BODY,      /* skipping body_left bytes of a Content-Length body */
	UNTRACKED, /* a chunked body: the reply closes the connection */
	REJECTED,  /* answered 431: input dropped until close */
};

struct conn {
	struct httpgate *g;              /* borrowed */
	struct bufferevent *bev;         /* evhttp's, freed with evcon */
	struct evhttp_connection *evcon; /* borrowed; NULL until adopted */
	struct evbuffer_cb_entry *in_cb; /* on bev's input buffer */
	/* first: adopts the connection (evhttp has set it up by then);
	 * then: the head deadline, or the end of a 431's linger */
	struct event *timer;
	struct event *drain; /* after a 431: reads and drops the rest */
	bool over_cap;
	enum head_state state;
	bool head_started; /* the deadline runs */
	size_t head_bytes;
	size_t head_lines;
	uint64_t body_left;
	bool has_length;
	bool bad_length;
	bool chunked;
	struct line line; /* the header line being read */
	struct conn *prev, *next;
};

struct httpgate {
	struct event_base *base; /* borrowed */
	struct httpgate_limits lim;
	struct httpgate_stats st;
	struct conn *conns; /* every connection, adopted or not */
};

static const char resp_431[] =
	"HTTP/1.1 431 Request Header Fields Too Large\r\n"
	"Content-Type: application/json\r\n"
	"Content-Length: 60\r\n"
	"Connection: close\r\n"
	"\r\n"
	"{\"error\":\"request line and headers larger than 8192 bytes\"}\n";
static const char resp_503[] = "HTTP/1.1 503 Service Unavailable\r\n"
			       "Content-Type: application/json\r\n"
			       "Content-Length: 33\r\n"
			       "Retry-After: 1\r\n"
			       "Connection: close\r\n"
			       "\r\n"
			       "{\"error\":\"too many connections\"}\n";

_Static_assert(HTTPGATE_MAX_HEAD_BYTES == 8192, "resp_431 says 8192");

static void ms_tv(int64_t ms, struct timeval *tv)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

/* The answer fits an empty socket buffer whole; when evhttp still has a
 * reply queued, or the send fails, the connection just closes. */
static void say(struct conn *c, const char *msg, size_t len)
{
	int fd = bufferevent_getfd(c->bev);

	if (fd >= 0 &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		(void)send(fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
}

/* evhttp reads EOF next and frees the connection on its own path. */
static void close_conn(struct conn *c)
{
	int fd = bufferevent_getfd(c->bev);

	if (fd >= 0) {
		shutdown(fd, SHUT_RDWR);
	}
}

/* The linger is over (client gone or deadline): evhttp reads the EOF
 * that shutdown leaves and frees the connection. */
static void end_linger(struct conn *c)
{
	event_del(c->drain);
	close_conn(c);
	bufferevent_enable(c->bev, EV_READ);
}

/* Reads and drops what the client still sends after a 431 into a buffer
 * on the stack: a 64 MiB header costs no memory, and the client, whose
 * send completes, reads the 431 instead of a reset. */
static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	char scratch[65536];

	/* a few reads per wakeup, so that other connections take turns */
	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT);

		if (n > 0) {
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
			      errno == EINTR)) {
			return;
		}
		end_linger(c);
		return;
	}
}

static void reject_head(struct conn *c, struct evbuffer *in)
{
	struct timeval tv;
	int fd = bufferevent_getfd(c->bev);

	c->state = REJECTED;
	c->g->st.head_too_large++;
	say(c, resp_431, sizeof(resp_431) - 1);
	/* evhttp must not parse what it holds (the head is cut) nor read
	 * more: the drain event reads until the linger ends */
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_disable(c->bev, EV_READ);
	ms_tv(HTTPGATE_LINGER_MS, &tv);
	evtimer_add(c->timer, &tv);
	if (fd < 0) {
		return;
	}
	shutdown(fd, SHUT_WR);
	c->drain = event_new(c->g->base, fd, EV_READ | EV_PERSIST, drain_cb, c);
	event_add(c->drain, NULL);
}

static void line_reset(struct line *l)
{
	memset(l, 0, sizeof(*l));
	l->cl = true;
	l->te = true;
}

/* One byte of a line other than its LF. */
static void line_byte(struct line *l, char b)
{
	size_t at = l->len++;

	if (at == 0) {
		l->first = b;
	}
	switch (l->kind) {
	case LINE_NAME:
		if (b == ':') {
			l->kind = l->cl && at == sizeof(name_cl) - 1 ? LINE_CL
				  : l->te && at == sizeof(name_te) - 1
					  ? LINE_TE
					  : LINE_OTHER;
			return;
		}
		l->cl = l->cl && at < sizeof(name_cl) - 1 &&
			tolower((unsigned char)b) == name_cl[at];
		l->te = l->te && at < sizeof(name_te) - 1 &&
			tolower((unsigned char)b) == name_te[at];
		if (!l->cl && !l->te) {
			l->kind = LINE_OTHER;
		}
		return;
	case LINE_CL:
		if (b == ' ' || b == '\t' || b == '\r') {
			l->end = l->digits;
		} else if (isdigit((unsigned char)b) && !l->end &&
			   l->value <= (UINT64_MAX - 9) / 10) {
			l->digits = true;
			l->value = l->value * 10 + (uint64_t)(b - '0');
		} else {
			l->bad = true;
		}
		return;
	case LINE_TE:
	case LINE_OTHER:
		return;
	}
}

/* The LF of a line that had bytes before it (a header or the request
 * line: the first line is never taken for a header, it has no colon
 * right after a name). */
static void line_done(struct conn *c)
{
	struct line *l = &c->line;

	c->head_lines++;
	if (l->kind == LINE_TE) {
		c->chunked = true;
	} else if (l->kind == LINE_CL) {
		if (l->bad || !l->digits ||
		    (c->has_length && l->value != c->body_left)) {
			c->bad_length = true;
		} else {
			c->has_length = true;
			c->body_left = l->value;
		}
	}
}

/* The blank line after the headers: what follows is the body. */
static void head_done(struct conn *c)
{
	evtimer_del(c->timer);
	c->head_started = false;
	c->head_bytes = 0;
	c->head_lines = 0;
	/* evhttp answers a bad length 400 and closes; a chunked body's end
	 * is not counted here, so its reply closes the connection */
	if (c->chunked || c->bad_length) {
		c->state = UNTRACKED;
	} else if (c->has_length && c->body_left > 0) {
		c->state = BODY;
	}
	c->has_length = false;
	c->bad_length = false;
	c->chunked = false;
}

/* Scans n new bytes; false when the head went over the limit. */
static bool scan(struct conn *c, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (c->state == BODY) {
			size_t k = n - i < c->body_left ? n - i
							: (size_t)c->body_left;

			c->body_left -= k;
			i += k;
			if (c->body_left == 0) {
				c->state = HEAD;
			}
			continue;
		}
		if (c->state != HEAD) {
			return true;
		}
		if (!c->head_started) {
			struct timeval tv;

			c->head_started = true;
			ms_tv(c->g->lim.header_timeout_ms, &tv);
			evtimer_add(c->timer, &tv);
		}
		if (++c->head_bytes > HTTPGATE_MAX_HEAD_BYTES) {
			return false;
		}
		if (p[i] != '\n') {
			line_byte(&c->line, p[i]);
		} else if (c->line.len > 1 ||
			   (c->line.len == 1 && c->line.first != '\r')) {
			line_done(c);
			line_reset(&c->line);
		} else {
			/* an empty line (or a lone CR): the end of the head,
			 * or a blank line before the request line, which
			 * evhttp skips too */
			if (c->head_lines > 0) {
				head_done(c);
			}
			line_reset(&c->line);
		}
		i++;
	}
	return true;
}

/* Runs inside evbuffer_read, before evhttp's read callback parses. */
static void input_cb(struct evbuffer *in, const struct evbuffer_cb_info *info,
		     void *arg)
{
	struct conn *c = arg;
	struct evbuffer_iovec v[PEEK_VECS];
	struct evbuffer_ptr pos;
	size_t len = evbuffer_get_length(in);
	size_t at;
	int nv;

	if (info->n_added == 0) {
		return;
	}
	if (c->state == REJECTED) {
		return;
	}
	at = len - info->n_added;
	/* Inside a body the bytes need no look: counted off, without
	 * walking the buffer's chains to them (a push body comes in
	 * hundreds of reads). */
	if (c->state == BODY) {
		size_t k = info->n_added < c->body_left ? info->n_added
							: (size_t)c->body_left;

		c->body_left -= k;
		at += k;
		if (c->body_left == 0) {
			c->state = HEAD;
		}
	}
	while (at < len && (c->state == HEAD || c->state == BODY)) {
		size_t seen = 0;

		if (evbuffer_ptr_set(in, &pos, at, EVBUFFER_PTR_SET) < 0) {
			return;
		}
		nv = evbuffer_peek(in, (ev_ssize_t)(len - at), &pos, v,
				   PEEK_VECS);
		for (int i = 0; i < nv && i < PEEK_VECS; i++) {
			size_t n = v[i].iov_len;

			if (seen + n > len - at) {
				n = len - at - seen;
			}
			if (!scan(c, v[i].iov_base, n)) {
				reject_head(c, in);
				return;
			}
			seen += n;
		}
		if (seen == 0) {
			return;
		}
		at += seen;
	}
}

static void unlink_conn(struct conn *c)
{
	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else {
		c->g->conns = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	}
	c->g->st.open--;
}

static void conn_free(struct conn *c)
{
	evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
	if (c->drain != NULL) {
		event_free(c->drain);
	}
	event_free(c->timer);
	unlink_conn(c);
	free(c);
}

/* evhttp is freeing the connection: the gate lets go of it first. */
static void close_cb(struct evhttp_connection *evcon, void *arg)
{
	conn_free(arg);
}

static void adopt(struct conn *c)
{
	void *arg = NULL;
	struct timeval tv;

	/* evhttp gives the connection as its bufferevent's argument */
	bufferevent_getcb(c->bev, NULL, NULL, NULL, &arg);
	c->evcon = arg;
	HARK_ASSERT(c->evcon != NULL &&
		    evhttp_connection_get_bufferevent(c->evcon) == c->bev);
	evhttp_connection_set_closecb(c->evcon, close_cb, c);
	/* A reply goes out in writes of 16 KiB (libevent's cap): without
	 * this, the last short one waits for the client's delayed ACK, 40 ms
	 * on every answer between 16 and 64 KiB of a kept-alive connection. */
	{
		int fd = bufferevent_getfd(c->bev), one = 1;

		if (fd >= 0) {
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
					 sizeof(one));
		}
	}
	if (c->over_cap) {
		c->g->st.refused++;
		say(c, resp_503, sizeof(resp_503) - 1);
		close_conn(c);
		return;
	}
	/* the first head's deadline runs from the accept */
	c->head_started = true;
	ms_tv(c->g->lim.header_timeout_ms, &tv);
	evtimer_add(c->timer, &tv);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	if (c->evcon == NULL) {
		adopt(c);
		return;
	}
	if (c->state == REJECTED) {
		end_linger(c);
		return;
	}
	if (c->state == HEAD && c->head_started) {
		c->g->st.head_timeouts++;
		log_debug("api",
			  "request head not complete within %lldms: "
			  "closing",
			  (long long)c->g->lim.header_timeout_ms);
	}
	close_conn(c);
}

static struct bufferevent *bev_cb(struct event_base *base, void *arg)
{
	struct httpgate *g = arg;
	struct conn *c = xcalloc(1, sizeof(*c));

	c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		/* evhttp makes its own, which the gate does not watch */
		free(c);
		return NULL;
	}
	c->g = g;
	line_reset(&c->line);
	c->in_cb = evbuffer_add_cb(bufferevent_get_input(c->bev), input_cb, c);
	c->timer = evtimer_new(base, timer_cb, c);
	c->next = g->conns;
	if (g->conns != NULL) {
		g->conns->prev = c;
	}
	g->conns = c;
	g->st.open++;
	c->over_cap = g->st.open > g->lim.max_connections;
	/* evhttp sets the connection up when this returns, before the loop
	 * runs again: the active timer adopts it before any of its I/O */
	event_active(c->timer, EV_TIMEOUT, 1);
	return c->bev;
}

struct httpgate *httpgate_new(struct event_base *base, struct evhttp *http,
			      const struct httpgate_limits *l)
{
	struct httpgate *g = xcalloc(1, sizeof(*g));
	struct timeval tv;

	g->base = base;
	g->lim = *l;
	/* evhttp's own bound is a backstop: the gate's count (CRLFs in)
	 * reaches the limit first */
	evhttp_set_max_headers_size(http, HTTPGATE_MAX_HEAD_BYTES);
	ms_tv(l->idle_timeout_ms, &tv);
	evhttp_set_timeout_tv(http, &tv);
	evhttp_set_bevcb(http, bev_cb, g);
	return g;
}

void httpgate_free(struct httpgate *g)
{
	if (g == NULL) {
		return;
	}
	/* evhttp_free closed every adopted connection; one accepted in the
	 * last loop pass may be left */
	while (g->conns != NULL) {
		struct conn *c = g->conns;

		if (c->drain != NULL) {
			event_free(c->drain);
		}
		event_free(c->timer);
		unlink_conn(c);
		free(c);
	}
	free(g);
}

struct httpgate_stats httpgate_stats(const struct httpgate *g)
{
	return g->st;
}
