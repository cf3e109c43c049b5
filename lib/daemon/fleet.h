/* SPDX-License-Identifier: MIT */
/*
 * Several harkd on one Redis (issue 13): each announces itself every flush
 * interval in the fleet's members hash with how far its watermark has gone
 * (core/members.h), and reads everyone's back. A closed bucket is judged
 * on the store's total only once every live member has passed it, so
 * every member judges the same totals with the same detector and reaches
 * the same verdict; the member that claims a notification first is the one
 * that sends it (keys_sent). A member that stops announcing is left out
 * after FLEET_LIVE_MS. With the embedded store (one process) and in replay
 * there is no fleet: everything passes at once. Loop only.
 */
#ifndef HARK_DAEMON_FLEET_H
#define HARK_DAEMON_FLEET_H

#include <stdbool.h>
#include <stdint.h>

#include "io/outbox.h"

struct hark;
struct fleet;
struct buf;
struct prom_page;

/*
 * A member counts as live while its last announcement is younger than
 * this: five missed announcements at the default 1 s interval (a Redis
 * stall or a paused process shorter than that leaves it in), never less
 * than FLEET_LIVE_MIN_MS.
 */
#define FLEET_LIVE_BEATS 5
#define FLEET_LIVE_MIN_MS 5000
/* An entry not renewed for an hour is removed by whoever sees it. */
#define FLEET_GONE_MS (3600 * 1000LL)

/* The fleet of h (NULL when h has none: embedded store, replay). */
struct fleet *fleet_new(struct hark *h);
void fleet_free(struct fleet *f); /* accepts NULL */

/*
 * Announces h when due (after the tick's count writes: they reach the
 * store first) and reads the members back; when they move, the buckets
 * waiting for them go on (evaluate_fleet_moved).
 */
void fleet_tick(struct hark *h);
/* The watermark with no lateness that h's writes have reached (set by
 * evaluate as it closes buckets; INT64_MIN: none). */
void fleet_set_base(struct hark *h, int64_t base_ms);
/*
 * Whether a bucket of a rule with lateness_ms, ending at end_ms, is final
 * for the fleet: every other live member has passed it. Always true with
 * no fleet, or while the store does not answer (the daemon goes on alone).
 */
bool fleet_final(const struct hark *h, int64_t end_ms, int64_t lateness_ms);
/* How long a member stays live without announcing (also a lease's time). */
int64_t fleet_live_ms(const struct hark *h);
/* Whether h should claim its notifications (there is a fleet). */
bool fleet_claims(const struct hark *h);
/*
 * An outbox_owner_fn (arg: the struct hark): whether member id is live as
 * of the last read of the members, for the outbox's takeover.
 */
enum outbox_owner fleet_owner(void *arg, const char *id);
/* Leaves the fleet (at stop, after the last count writes). */
void fleet_leave(struct hark *h);
/* GET /v1/cluster's body. */
void fleet_json(struct hark *h, struct buf *out);
/* The fleet's families of /metrics. */
void fleet_metrics(struct hark *h, struct prom_page *pg);

#endif
