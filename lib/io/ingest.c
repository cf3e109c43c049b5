/* SPDX-License-Identifier: MIT */
/*
 * The file source: reads an NDJSON file a chunk per loop pass (a
 * zero-delay event re-armed after each chunk), so that a large file never
 * stalls the API or the store. Lines go to hark_ingest_line; buckets the
 * chunk closed are evaluated before the next chunk.
 */
#include "io/ingest.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "hark.h"
#include "util/log.h"
#include "util/xalloc.h"

#define INGEST_CHUNK_BYTES (256 * 1024)

struct ingest_file {
	struct hark *h; /* borrowed */
	int source;
	const struct config_source *src; /* borrowed from the config */
	int fd;
	struct event *ev;
	char *line;       /* owned: the partial line carried between chunks */
	size_t line_len;
	size_t line_cap;  /* at most src->max_line_bytes */
	bool skipping;    /* inside an over-long line, dropped up to its end */
	struct ingest_stats stats;
};

static void handle_line(struct ingest_file *f, const char *p, size_t n)
{
	char why[256];

	if (n > 0 && p[n - 1] == '\r') {
		n--;
	}
	if (n == 0) {
		return;
	}
	f->stats.received++;
	if (hark_ingest_line(f->h, f->source, p, n, why, sizeof(why)) < 0) {
		f->stats.rejected++;
		log_debug("ingest", "source=%s line rejected: %s", f->src->name,
			  why);
	}
}

static void line_too_long(struct ingest_file *f)
{
	f->stats.received++;
	f->stats.rejected++;
	log_debug("ingest", "source=%s line over max_line dropped",
		  f->src->name);
}

/* Appends to the carried partial line, or starts skipping when over cap. */
static void carry(struct ingest_file *f, const char *p, size_t n)
{
	if (f->skipping) {
		return;
	}
	if (f->line_len + n > f->src->max_line_bytes) {
		f->skipping = true;
		f->line_len = 0;
		return;
	}
	if (f->line_len + n > f->line_cap) {
		size_t cap = f->line_cap ? f->line_cap : 4096;

		while (cap < f->line_len + n) {
			cap *= 2;
		}
		f->line = xrealloc(f->line, cap);
		f->line_cap = cap;
	}
	memcpy(f->line + f->line_len, p, n);
	f->line_len += n;
}

static void end_of_line(struct ingest_file *f, const char *p, size_t n)
{
	if (f->skipping) {
		f->skipping = false;
		line_too_long(f);
		return;
	}
	if (f->line_len == 0) {
		if (n > f->src->max_line_bytes) {
			line_too_long(f);
		} else {
			handle_line(f, p, n);
		}
		return;
	}
	carry(f, p, n);
	if (f->skipping) {
		f->skipping = false;
		line_too_long(f);
		return;
	}
	handle_line(f, f->line, f->line_len);
	f->line_len = 0;
}

static void finish(struct ingest_file *f)
{
	if (f->line_len > 0 || f->skipping) {
		end_of_line(f, "", 0);
	}
	f->stats.done = true;
	close(f->fd);
	f->fd = -1;
	hark_process(f->h);
	log_info("ingest", "source=%s end of file lines=%llu rejected=%llu",
		 f->src->name, (unsigned long long)f->stats.received,
		 (unsigned long long)f->stats.rejected);
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ingest_file *f = arg;
	char *chunk = xmalloc(INGEST_CHUNK_BYTES);
	ssize_t n;
	const char *p, *end;
	struct timeval zero = {0, 0};

	HARK_UNUSED(fd);
	HARK_UNUSED(what);
	do {
		n = read(f->fd, chunk, INGEST_CHUNK_BYTES);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		log_error("ingest", "source=%s read %s: %s", f->src->name,
			  f->src->path, strerror(errno));
		free(chunk);
		finish(f);
		return;
	}
	if (n == 0) {
		free(chunk);
		finish(f);
		return;
	}
	p = chunk;
	end = chunk + n;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL) {
			carry(f, p, (size_t)(end - p));
			break;
		}
		end_of_line(f, p, (size_t)(nl - p));
		p = nl + 1;
	}
	free(chunk);
	hark_process(f->h);
	event_add(f->ev, &zero);
}

struct ingest_file *ingest_file_start(struct event_base *base, struct hark *h,
				      int source_index,
				      const struct config_source *src)
{
	struct ingest_file *f;
	struct timeval zero = {0, 0};
	int fd = open(src->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		log_error("ingest", "source=%s cannot open %s: %s", src->name,
			  src->path, strerror(errno));
		return NULL;
	}
	f = xcalloc(1, sizeof(*f));
	f->h = h;
	f->source = source_index;
	f->src = src;
	f->fd = fd;
	f->ev = evtimer_new(base, read_cb, f);
	event_add(f->ev, &zero);
	log_info("ingest", "source=%s reading %s", src->name, src->path);
	return f;
}

struct ingest_stats ingest_file_stats(const struct ingest_file *f)
{
	return f->stats;
}

void ingest_file_free(struct ingest_file *f)
{
	if (f == NULL) {
		return;
	}
	if (f->ev != NULL) {
		event_free(f->ev);
	}
	if (f->fd >= 0) {
		close(f->fd);
	}
	free(f->line);
	free(f);
}
