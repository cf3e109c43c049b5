/* SPDX-License-Identifier: MIT */
/*
 * harkd: the daemon. Parses options, loads and validates the config,
 * builds struct hark on one libevent loop, handles signals (TERM/INT stop,
 * HUP re-validates) and maps the outcome to an exit code:
 * 0 ok, 1 runtime failure (and, for --check, a bad config), 2 usage,
 * 3 bad config at start.
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "hark-config.h"
#include "hark.h"
#include "reloader.h"
#include "util/diag.h"
#include "util/log.h"

#if HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

struct daemon {
	struct event_base *base;
	struct hark *h;
	const char *config_path;
	bool level_override; /* --log-level: the file's log_level is ignored */
	struct reloader *reloader;
	bool stopped;
	int exit_code;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: harkd -c FILE [--check] [--listen HOST:PORT] "
		"[--log-level LEVEL]\n"
		"  -c, --config FILE   configuration (YAML)\n"
		"      --check         validate the configuration and exit\n"
		"      --listen ADDR   override http.listen (port 0 picks "
		"one)\n"
		"      --log-level L   error, warn, info or debug\n"
		"  -V, --version       print the version\n");
}

static void ready_cb(void *arg)
{
	HARK_UNUSED(arg);
#if HAVE_SYSTEMD
	sd_notify(0, "READY=1");
#endif
}

static void stopped_cb(void *arg)
{
	struct daemon *d = arg;

	d->stopped = true;
	event_base_loopbreak(d->base);
}

static void stop_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	HARK_UNUSED(what);
	log_info("harkd", "signal %d: stopping", (int)sig);
#if HAVE_SYSTEMD
	sd_notify(0, "STOPPING=1");
#endif
	hark_stop(d->h, stopped_cb, d);
}

/*
 * SIGHUP: reads the file again (off the loop, see reloader.h); a valid one
 * whose store, http, sources and receivers are unchanged replaces the rules
 * (see hark_reload_compiled); anything else is reported and the running
 * configuration stays.
 */
static void hup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	HARK_UNUSED(sig);
	HARK_UNUSED(what);
	reloader_hup(d->reloader);
}

static int check_only(struct config *cfg)
{
	char err[512];
	struct event_base *base = event_base_new();
	struct hark *h;
	char *snapshot = cfg->snapshot_path;

	/* Building the daemon compiles every rule's terms; keep --check from
	 * touching the snapshot or Redis by giving it an unused store.
	 * hark_new takes cfg, also when it fails. */
	cfg->snapshot_path = NULL;
	config_use_embedded_store(cfg);
	free(snapshot);
	h = hark_new(base, cfg, err, sizeof(err));
	if (h == NULL) {
		fprintf(stderr, "%s\n", err);
		event_base_free(base);
		return 1;
	}
	printf("%s: OK (%zu rules, %zu receivers, %zu sources)\n", cfg->path,
	       cfg->n_rules, cfg->n_receivers, cfg->n_sources);
	hark_free(h);
	event_base_free(base);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'k'},
		{"listen", required_argument, NULL, 'l'},
		{"log-level", required_argument, NULL, 'L'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct daemon d;
	struct config *cfg;
	struct diag dg;
	const char *listen = NULL;
	const char *level = NULL;
	bool check = false;
	char err[512];
	struct event *sigterm, *sigint, *sighup;
	enum log_level lv;
	int c;

	/* Push bodies (up to http.max_body) and their parse arenas come and
	 * go with every request: glibc would map and unmap the large ones,
	 * or give the heap's top back, and fault the same pages in again for
	 * the next (a fifth of the loop's time when catching up, bench/ingest
	 * catchup). Keep up to a few bodies' worth in the heap instead. */
	mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024);
	memset(&d, 0, sizeof(d));
	while ((c = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'k':
			check = true;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'L':
			level = optarg;
			d.level_override = true;
			break;
		case 'V':
			printf("harkd %s\n", HARK_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (d.config_path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	cfg = xcalloc(1, sizeof(*cfg));
	diag_init(&dg);
	if (config_load(cfg, d.config_path, &dg) < 0) {
		diag_print(&dg, stderr);
		diag_fini(&dg);
		free(cfg);
		/* DESIGN §7: --check exits 0 or 1. */
		return check ? 1 : 3;
	}
	diag_fini(&dg);
	if (level == NULL) {
		level = cfg->log_level;
	}
	if (level != NULL) {
		if (log_level_parse(level, &lv) < 0) {
			fprintf(stderr, "harkd: unknown log level \"%s\"\n",
				level);
			config_fini(cfg);
			free(cfg);
			return 2;
		}
		log_set_level(lv);
	}
	if (listen != NULL) {
		free(cfg->listen);
		cfg->listen = xstrdup(listen);
	}
	if (check) {
		return check_only(cfg);
	}
	signal(SIGPIPE, SIG_IGN);
	d.base = event_base_new();
	d.h = hark_new(d.base, cfg, err, sizeof(err));
	if (d.h == NULL) {
		fprintf(stderr, "harkd: %s\n", err);
		event_base_free(d.base);
		return 3;
	}
	d.reloader = reloader_new(d.base, d.h, d.config_path, d.level_override);
	if (d.reloader == NULL) {
		fprintf(stderr, "harkd: pipe: %s\n", strerror(errno));
		hark_free(d.h);
		event_base_free(d.base);
		return 1;
	}
	log_info("harkd", "starting version=%s config=%s", HARK_VERSION,
		 d.config_path);
	sigterm = evsignal_new(d.base, SIGTERM, stop_signal_cb, &d);
	sigint = evsignal_new(d.base, SIGINT, stop_signal_cb, &d);
	sighup = evsignal_new(d.base, SIGHUP, hup_cb, &d);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	event_add(sighup, NULL);
	if (hark_start(d.h, ready_cb, &d) < 0) {
		d.exit_code = 1;
	} else {
		event_base_dispatch(d.base);
		d.exit_code = d.stopped ? 0 : 1;
	}
	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	reloader_free(d.reloader);
	hark_free(d.h);
	event_base_free(d.base);
	if (d.exit_code == 0) {
		log_info("harkd", "stopped");
	}
	return d.exit_code;
}
