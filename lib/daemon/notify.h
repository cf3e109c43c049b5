/* SPDX-License-Identifier: MIT */
/*
 * Alerts out (daemon/notify.c): the body of a rule's alert, its entry in
 * the history, repeats while it fires and the silences that hold it back,
 * into the outbox of each receiver the rule notifies. Loop only.
 */
#ifndef HARK_DAEMON_NOTIFY_H
#define HARK_DAEMON_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct detect_result;
struct eval;
#include <stdbool.h>

struct hark;
struct rule_rt;

/*
 * Rule r's result res over e's bucket, status "firing" or "resolved":
 * filed in the history, logged, then sent to each receiver of the rule
 * (those without send_resolved skip a resolve), unless a silence covers
 * it; in replay, handed to the replay output instead.
 */
void notify_alert(struct hark *h, struct rule_rt *r,
		  const struct detect_result *res, const struct eval *e,
		  const char *status);
/* notify_alert, sent to the receivers only when send (else only filed and
 * logged: another member of the fleet sent it). */
void notify_alert_as(struct hark *h, struct rule_rt *r,
		     const struct detect_result *res, const struct eval *e,
		     const char *status, bool send);
/*
 * The detector's verdict over e's bucket: notify_alert and, for a firing,
 * notify_repeat_arm; in a fleet once its notification is claimed
 * (keys_sent), by whichever member claims first (e's bucket is taken).
 */
void notify_decided(struct hark *h, struct rule_rt *r,
		    const struct detect_result *res, struct eval *e,
		    const char *status);
/* Keeps the episode that just fired (taking e's bucket) and schedules the
 * first repeat of every receiver with a repeat_interval. */
void notify_repeat_arm(struct hark *h, struct rule_rt *r,
		       const struct detect_result *res, struct eval *e);
/*
 * Re-notifies each receiver whose repeat_interval has passed while the rule
 * keeps firing: the episode's alert again, with its own id and "repeat".
 * A silence covering the rule now skips the repeat (not filed in history:
 * the episode's firing already is).
 */
void notify_repeat_due(struct hark *h);
/* The first silence active at now that covers r's name or labels, or
 * NULL. */
struct silence;
const struct silence *notify_silenced_by(const struct hark *h,
					 const struct rule_rt *r, int64_t now);

/* Reads the shared silences again (every flush interval; a change made here
 * meanwhile wins). */
void notify_refresh(struct hark *h);
/* At start: reads the saved silences and alert history (again each tick
 * until the store answers both); the daemon serves once they and every
 * rule's state are loaded. */
void notify_load(struct hark *h);

/* POST /v1/silences: writes the new silence (or {"error"}) to out and
 * returns the HTTP status (201, 400, 409). */
int notify_silence_add(struct hark *h, const char *body, size_t len,
		       struct buf *out);
/* DELETE /v1/silences/ID: 200, or 404 when there is no such silence. */
int notify_silence_expire(struct hark *h, const char *id);

#endif
