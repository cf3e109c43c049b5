/* SPDX-License-Identifier: MIT */
/*
 * The file source: reads an NDJSON file a chunk per loop pass (a
 * zero-delay event re-armed after each chunk), so that a large file never
 * stalls the API or the store. Lines go to hark_ingest_line_as in the
 * source's format; buckets the chunk closed are evaluated before the next
 * chunk. With follow, the end of the file arms a poll timer instead of
 * finishing: tail -F, without inotify so that it works on any filesystem.
 * It keeps the offset after the last line handed on, which hark.c saves so
 * that a restart neither reads lines twice nor loses any.
 */
#include "io/ingest.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "core/mention.h"
#include "hark.h"
#include "util/log.h"
#include "util/xalloc.h"

#define INGEST_CHUNK_BYTES (256 * 1024)

struct ingest_file {
	struct hark *h; /* borrowed */
	int source;
	const struct config_source *src; /* borrowed from the config */
	struct mention_opts opts;
	struct mention_fields fields; /* borrowed strings of src->fields */
	int fd;    /* -1 while a followed path names no file */
	dev_t dev; /* identity of the open file, to see rotation */
	ino_t ino;
	int64_t offset;   /* bytes read from fd, to see truncation */
	int64_t done;     /* offset after the last line handed on */
	int64_t min_size; /* resuming: the saved file's known length */
	bool known;       /* dev, ino and done describe a file */
	struct event *ev; /* zero delay while reading, poll_ms at the end */
	char *line;       /* owned: the partial line carried between chunks */
	size_t line_len;
	size_t line_cap; /* at most src->max_line_bytes */
	bool skipping;   /* inside an over-long line, dropped up to its end */
	struct ingest_stats stats;
};

static void read_opts(struct ingest_file *f)
{
	const struct config_source *src = f->src;

	f->opts.reblog_original = src->reblogs == CONFIG_REBLOGS_ORIGINAL;
	if (src->has_fields) {
		f->fields.text = src->fields.text;
		f->fields.id = src->fields.id;
		f->fields.created_at = src->fields.created_at;
		f->fields.lang = src->fields.lang;
		f->fields.author = src->fields.author;
		f->fields.url = src->fields.url;
		f->opts.format = MENTION_FORMAT_FIELDS;
		f->opts.fields = &f->fields;
		return;
	}
	switch (src->format) {
	case CONFIG_FORMAT_X_V2:
		f->opts.format = MENTION_FORMAT_X_V2;
		break;
	case CONFIG_FORMAT_MASTODON:
		f->opts.format = MENTION_FORMAT_MASTODON;
		break;
	case CONFIG_FORMAT_FLAT:
		f->opts.format = MENTION_FORMAT_FLAT;
		break;
	case CONFIG_FORMAT_AUTO:
		f->opts.format = MENTION_FORMAT_AUTO;
		break;
	}
}

static void handle_line(struct ingest_file *f, const char *p, size_t n)
{
	char why[256];
	int rc;

	if (n > 0 && p[n - 1] == '\r') {
		n--;
	}
	if (n == 0) {
		return;
	}
	f->stats.received++;
	rc = hark_ingest_line_as(f->h, f->source, &f->opts, p, n, why,
				 sizeof(why));
	if (rc < 0) {
		f->stats.rejected++;
		log_debug("ingest", "source=%s line rejected: %s", f->src->name,
			  why);
	} else if (rc == 2) {
		f->stats.duplicates++;
	} else if (rc > 0) {
		f->stats.skipped++;
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

/* The last line of a file that ended without a newline still counts. */
static void flush_partial(struct ingest_file *f)
{
	if (f->line_len > 0 || f->skipping) {
		end_of_line(f, "", 0);
	}
	f->done = f->offset;
}

static void close_file(struct ingest_file *f)
{
	if (f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
	}
}

static void finish(struct ingest_file *f)
{
	flush_partial(f);
	f->stats.done = true;
	close_file(f);
	hark_process(f->h);
	log_info("ingest", "source=%s end of file lines=%llu rejected=%llu",
		 f->src->name, (unsigned long long)f->stats.received,
		 (unsigned long long)f->stats.rejected);
}

/*
 * O_NONBLOCK so that a FIFO named by path cannot block the loop in open;
 * a regular file ignores it. Returns -1 with errno set.
 */
static int open_file(struct ingest_file *f)
{
	struct stat st;
	int fd = open(f->src->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	/* The same file again (after a read error, or the one a saved
	 * position names): go on where reading stopped rather than count it
	 * twice. Shorter than it was known to be, it was truncated. */
	if (f->offset > 0 && st.st_dev == f->dev && st.st_ino == f->ino &&
	    (int64_t)st.st_size >= f->offset &&
	    (int64_t)st.st_size >= f->min_size &&
	    lseek(fd, (off_t)f->offset, SEEK_SET) == (off_t)f->offset) {
		f->fd = fd;
		f->min_size = 0;
		f->stats.missing = false;
		return 0;
	}
	f->fd = fd;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->offset = 0;
	f->done = 0;
	f->min_size = 0;
	f->known = true;
	f->stats.missing = false;
	return 0;
}

static void arm(struct ingest_file *f, int64_t delay_ms)
{
	struct timeval tv = {
		.tv_sec = (time_t)(delay_ms / 1000),
		.tv_usec = (suseconds_t)(delay_ms % 1000) * 1000,
	};

	event_add(f->ev, &tv);
}

/*
 * Followed file, read up to its end: returns true when reading should go
 * on at once (the file was truncated, or the path now names a new file),
 * false to poll again later. A path that names nothing keeps the open
 * file: the writer may still append to it until the new one appears.
 */
static bool check_followed(struct ingest_file *f)
{
	struct stat cur, now;

	if (fstat(f->fd, &cur) == 0 && (int64_t)cur.st_size < f->offset) {
		/* Truncated in place (copytruncate): a partial line carried
		 * from before can never be completed. */
		if (f->line_len > 0 || f->skipping) {
			f->stats.partial++;
			f->line_len = 0;
			f->skipping = false;
		}
		if (lseek(f->fd, 0, SEEK_SET) == 0) {
			f->offset = 0;
			f->done = 0;
			f->stats.truncations++;
			log_info("ingest",
				 "source=%s %s truncated, reading "
				 "from the start",
				 f->src->name, f->src->path);
			return true;
		}
		log_error("ingest", "source=%s seek %s: %s", f->src->name,
			  f->src->path, strerror(errno));
		close_file(f);
		return true;
	}
	if (stat(f->src->path, &now) < 0) {
		return false;
	}
	if (now.st_dev == f->dev && now.st_ino == f->ino) {
		return false;
	}
	/* Rotated: everything the old file held was read (we are at its
	 * end), its unterminated last line included. */
	flush_partial(f);
	close_file(f);
	f->offset = 0;
	f->done = 0;
	f->stats.reopens++;
	log_info("ingest", "source=%s %s was replaced, reopening", f->src->name,
		 f->src->path);
	return true;
}

/* Followed path without an open file: true once it could be opened. */
static bool reopen(struct ingest_file *f)
{
	if (open_file(f) == 0) {
		log_info("ingest", "source=%s following %s", f->src->name,
			 f->src->path);
		return true;
	}
	if (!f->stats.missing) {
		log_warn("ingest",
			 "source=%s cannot open %s: %s; waiting "
			 "for it",
			 f->src->name, f->src->path, strerror(errno));
	}
	f->stats.missing = true;
	return false;
}

/* chunk was read at file offset at. */
static void split_lines(struct ingest_file *f, const char *chunk, size_t n,
			int64_t at)
{
	const char *p = chunk;
	const char *end = chunk + n;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL) {
			carry(f, p, (size_t)(end - p));
			break;
		}
		end_of_line(f, p, (size_t)(nl - p));
		p = nl + 1;
		f->done = at + (int64_t)(p - chunk);
	}
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ingest_file *f = arg;
	char *chunk;
	ssize_t n;

	HARK_UNUSED(fd);
	HARK_UNUSED(what);
	if (f->fd < 0 && !reopen(f)) {
		arm(f, f->src->poll_ms);
		return;
	}
	chunk = xmalloc(INGEST_CHUNK_BYTES);
	do {
		n = read(f->fd, chunk, INGEST_CHUNK_BYTES);
	} while (n < 0 && errno == EINTR);
	if (n > 0) {
		f->stats.at_end = false;
		f->offset += n;
		split_lines(f, chunk, (size_t)n, f->offset - n);
		free(chunk);
		hark_process(f->h);
		arm(f, 0);
		return;
	}
	free(chunk);
	if (n < 0 && errno == EAGAIN) {
		/* A FIFO with no data yet. */
		arm(f, f->src->poll_ms);
		return;
	}
	if (n < 0) {
		log_error("ingest", "source=%s read %s: %s", f->src->name,
			  f->src->path, strerror(errno));
		if (!f->src->follow) {
			finish(f);
			return;
		}
		close_file(f);
		arm(f, f->src->poll_ms);
		return;
	}
	if (!f->src->follow) {
		finish(f);
		return;
	}
	if (!f->stats.at_end) {
		f->stats.at_end = true;
		hark_process(f->h);
	}
	arm(f, check_followed(f) ? 0 : f->src->poll_ms);
}

/*
 * start_at: end. The offset after the last newline of a regular file of
 * size bytes, looked for at most max_line bytes back: a line being written
 * as harkd starts is new. Without one, *inside is set when the unfinished
 * line is over max_line already (dropped when it ends, as any long line).
 */
static int64_t last_line_end(int fd, int64_t size, uint64_t max_line,
			     bool *inside)
{
	char blk[4096];
	int64_t pos = size;
	int64_t limit = size - (int64_t)max_line - 1;

	*inside = false;
	if (limit < 0) {
		limit = 0;
	}
	while (pos > limit) {
		size_t n = (size_t)(pos - limit) < sizeof(blk)
				   ? (size_t)(pos - limit)
				   : sizeof(blk);
		ssize_t r = pread(fd, blk, n, (off_t)(pos - (int64_t)n));

		if (r != (ssize_t)n) {
			return size;
		}
		for (size_t i = n; i-- > 0;) {
			if (blk[i] == '\n') {
				return pos - (int64_t)n + (int64_t)i + 1;
			}
		}
		pos -= (int64_t)n;
	}
	if (limit > 0) {
		*inside = true;
		return size;
	}
	return 0;
}

static void skip_existing(struct ingest_file *f)
{
	struct stat st;
	int64_t at;
	bool inside;

	if (fstat(f->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		return; /* a FIFO has no existing lines */
	}
	at = last_line_end(f->fd, (int64_t)st.st_size, f->src->max_line_bytes,
			   &inside);
	if (lseek(f->fd, (off_t)at, SEEK_SET) != (off_t)at) {
		log_error("ingest",
			  "source=%s seek %s: %s; reading from the "
			  "start",
			  f->src->name, f->src->path, strerror(errno));
		lseek(f->fd, 0, SEEK_SET);
		return;
	}
	f->offset = at;
	f->done = at;
	f->skipping = inside;
	log_info("ingest", "source=%s start_at end: skipping %lld bytes of %s",
		 f->src->name, (long long)at, f->src->path);
}

struct ingest_file *ingest_file_start(struct event_base *base, struct hark *h,
				      int source_index,
				      const struct config_source *src)
{
	return ingest_file_start_at(base, h, source_index, src, NULL);
}

struct ingest_file *ingest_file_start_at(struct event_base *base,
					 struct hark *h, int source_index,
					 const struct config_source *src,
					 const struct ingest_pos *saved)
{
	struct ingest_file *f = xcalloc(1, sizeof(*f));
	bool resume = saved != NULL && src->start_at == CONFIG_START_RESUME &&
		      saved->offset > 0 && saved->offset <= saved->size;

	f->h = h;
	f->source = source_index;
	f->src = src;
	f->fd = -1;
	read_opts(f);
	if (resume) {
		/* open_file goes on from here if the path still names this
		 * file, unshrunk; a missing one is checked when it appears. */
		f->dev = (dev_t)saved->dev;
		f->ino = (ino_t)saved->ino;
		f->offset = saved->offset;
		f->done = saved->offset;
		f->min_size = saved->size;
		f->known = true;
	}
	if (open_file(f) == 0) {
		if (resume && f->offset == saved->offset) {
			log_info("ingest", "source=%s resuming %s at byte %lld",
				 src->name, src->path,
				 (long long)saved->offset);
		} else if (resume) {
			log_info("ingest",
				 "source=%s %s is not the file the "
				 "last run read (rotated or truncated): "
				 "reading it from the start",
				 src->name, src->path);
		} else if (src->start_at == CONFIG_START_END) {
			skip_existing(f);
		}
	} else {
		if (!src->follow) {
			log_error("ingest", "source=%s cannot open %s: %s",
				  src->name, src->path, strerror(errno));
			free(f);
			return NULL;
		}
		log_warn("ingest",
			 "source=%s cannot open %s: %s; waiting for "
			 "it",
			 src->name, src->path, strerror(errno));
		f->stats.missing = true;
	}
	f->ev = evtimer_new(base, read_cb, f);
	HARK_ASSERT(f->ev != NULL);
	arm(f, 0);
	log_info("ingest", "source=%s %s %s", src->name,
		 src->follow ? "following" : "reading", src->path);
	return f;
}

struct ingest_stats ingest_file_stats(const struct ingest_file *f)
{
	return f->stats;
}

bool ingest_file_position(const struct ingest_file *f, struct ingest_pos *pos)
{
	if (!f->known) {
		return false;
	}
	pos->dev = (uint64_t)f->dev;
	pos->ino = (uint64_t)f->ino;
	pos->offset = f->done;
	/* Bytes read, not fstat's size: those are known to have existed,
	 * even if the file shrank since. */
	pos->size = f->offset;
	return true;
}

char *ingest_pos_encode(const struct ingest_pos *pos)
{
	return xasprintf("dev=%" PRIu64 " ino=%" PRIu64 " offset=%" PRId64
			 " size=%" PRId64,
			 pos->dev, pos->ino, pos->offset, pos->size);
}

int ingest_pos_decode(struct ingest_pos *pos, const char *s, size_t len)
{
	char text[160];
	uint64_t dev, ino;
	int64_t offset, size;
	int used = -1;

	if (len >= sizeof(text) || memchr(s, '-', len) != NULL) {
		return -1;
	}
	memcpy(text, s, len);
	text[len] = '\0';
	if (sscanf(text,
		   "dev=%" SCNu64 " ino=%" SCNu64 " offset=%" SCNd64
		   " size=%" SCNd64 "%n",
		   &dev, &ino, &offset, &size, &used) != 4 ||
	    used != (int)len || offset > size) {
		return -1;
	}
	pos->dev = dev;
	pos->ino = ino;
	pos->offset = offset;
	pos->size = size;
	return 0;
}

const char *ingest_file_state(const struct ingest_file *f)
{
	if (f->stats.done) {
		return "finished";
	}
	if (f->stats.missing) {
		return "waiting";
	}
	return f->stats.at_end ? "following" : "reading";
}

void ingest_file_free(struct ingest_file *f)
{
	if (f == NULL) {
		return;
	}
	if (f->ev != NULL) {
		event_free(f->ev);
	}
	close_file(f);
	free(f->line);
	free(f);
}
