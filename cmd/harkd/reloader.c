/* SPDX-License-Identifier: MIT */
/*
 * SIGHUP off the loop (see reloader.h). The worker only reads the file and
 * compiles; everything that touches the daemon (logging the outcome,
 * hark_reload_compiled, the log level) runs on the loop once the worker has
 * written its byte to the wake-up pipe and been joined.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/match.h"
#include "hark-config.h"
#include "hark.h"
#include "reloader.h"
#include "util/diag.h"
#include "util/log.h"
#include "util/xalloc.h"

#if HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

struct reloader {
	struct event_base *base;
	struct hark *h;
	const char *path;
	bool level_override;
	int wake[2]; /* the worker writes one byte to [1] when done */
	struct event *done_ev;
	pthread_t thread;
	bool running;
	bool threaded; /* running on the thread (else it ran inline) */
	bool again;    /* a HUP came while running */
	/* The job: set up before the worker starts, read once it is joined. */
	struct config *cfg;
	struct diag dg;
	int load_rc;
	struct matcher *m;
	char err[512];
};

static void *work(void *arg)
{
	struct reloader *r = arg;
	char c = 'x';
	ssize_t n;

	r->load_rc = config_load(r->cfg, r->path, &r->dg);
	if (r->load_rc == 0) {
		r->m = hark_compile_rules(r->h, r->cfg, r->err, sizeof(r->err));
	}
	do {
		n = write(r->wake[1], &c, 1);
	} while (n < 0 && errno == EINTR);
	return NULL;
}

static void start(struct reloader *r)
{
	log_info("reload", "SIGHUP: reading %s", r->path);
#if HAVE_SYSTEMD
	sd_notify(0, "RELOADING=1");
#endif
	r->cfg = xcalloc(1, sizeof(*r->cfg));
	diag_init(&r->dg);
	r->load_rc = -1;
	r->m = NULL;
	r->err[0] = '\0';
	r->running = true;
	r->threaded = pthread_create(&r->thread, NULL, work, r) == 0;
	if (!r->threaded) {
		log_warn("reload", "no worker thread; reading on the loop");
		work(r);
	}
}

/* The file did not validate: every problem in the log, the first one (and
 * how many more) for /metrics and GET /v1/rules. */
static void report_invalid(struct reloader *r)
{
	char *first, *why;

	for (size_t i = 0; i < r->dg.n; i++) {
		char *s = diag_format(&r->dg, i);

		log_error("reload", "%s", s);
		free(s);
	}
	log_error("reload", "configuration invalid; keeping the running one");
	first = r->dg.n > 0 ? diag_format(&r->dg, 0)
			    : xstrdup("configuration invalid");
	why = r->dg.n > 1 ? xasprintf("%s (and %zu more problems)", first,
				      r->dg.n - 1)
			  : xstrdup(first);
	hark_reload_failed(r->h, why);
	free(why);
	free(first);
}

/* The worker's outcome, on the loop. */
static void finish(struct reloader *r)
{
	struct config *cfg = r->cfg;
	char err[512];
	enum log_level lv;
	bool set_level = false;

	r->cfg = NULL;
	if (r->load_rc < 0) {
		report_invalid(r);
		free(cfg);
	} else if (r->m == NULL) {
		/* A rule that does not compile; but a file that needs a
		 * restart says so first. */
		if (hark_reload_check(r->h, cfg, err, sizeof(err)) < 0) {
			snprintf(r->err, sizeof(r->err), "%s", err);
		}
		log_error("reload", "%s; keeping the running configuration",
			  r->err);
		hark_reload_failed(r->h, r->err);
		config_fini(cfg);
		free(cfg);
	} else {
		if (!r->level_override && cfg->log_level != NULL &&
		    log_level_parse(cfg->log_level, &lv) == 0) {
			set_level = true;
		}
		if (hark_reload_compiled(r->h, cfg, r->m, err, sizeof(err)) <
		    0) {
			log_error("reload",
				  "%s; keeping the running configuration", err);
		} else if (set_level) {
			log_set_level(lv);
		}
	}
	r->m = NULL;
	diag_fini(&r->dg);
#if HAVE_SYSTEMD
	sd_notify(0, "READY=1");
#endif
}

static void done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct reloader *r = arg;
	char buf[16];

	HARK_UNUSED(what);
	while (read(fd, buf, sizeof(buf)) > 0) {
	}
	if (!r->running) {
		return;
	}
	if (r->threaded) {
		pthread_join(r->thread, NULL);
	}
	r->running = false;
	finish(r);
	if (r->again) {
		r->again = false;
		start(r);
	}
}

struct reloader *reloader_new(struct event_base *base, struct hark *h,
			      const char *path, bool level_override)
{
	struct reloader *r = xcalloc(1, sizeof(*r));

	if (pipe2(r->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		free(r);
		return NULL;
	}
	r->base = base;
	r->h = h;
	r->path = path;
	r->level_override = level_override;
	r->done_ev =
		event_new(base, r->wake[0], EV_READ | EV_PERSIST, done_cb, r);
	event_add(r->done_ev, NULL);
	return r;
}

void reloader_hup(struct reloader *r)
{
	if (r->running) {
		log_info("reload", "SIGHUP while reading %s: read again after",
			 r->path);
		r->again = true;
		return;
	}
	start(r);
}

void reloader_free(struct reloader *r)
{
	if (r == NULL) {
		return;
	}
	if (r->running) {
		if (r->threaded) {
			pthread_join(r->thread, NULL);
		}
		if (r->cfg != NULL) {
			if (r->load_rc == 0) {
				config_fini(r->cfg);
			}
			free(r->cfg);
		}
		matcher_free(r->m);
		diag_fini(&r->dg);
	}
	event_free(r->done_ev);
	close(r->wake[0]);
	close(r->wake[1]);
	free(r);
}
