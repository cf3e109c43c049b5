# SPDX-License-Identifier: MIT
"""What a spike is about (issue 14): 2.5 days of a brand's mentions, every
everyday one saying "trajet" among a few hundred everyday words, then a
3x spike for 45 minutes about an outage, half of its mentions saying
"panne". The alert's emerging terms name "panne" first while its top terms
(by frequency) name "trajet"; GET /v1/rules/brand/top says the same of the
spike's bucket and nothing of the kind of an ordinary one; a steady rule
beside it lists no outage word; the series adds up to what was matched,
with a baseline once warm."""

import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

CONF = """\
http:
  listen: "127.0.0.1:@PORT@"
sources:
  - name: push
    type: http-push
receivers:
  - name: hook
    type: webhook
    url: "{sink}"
    timeout: 5s
rules:
  - name: brand
    match:
      any: ["blablacar"]
    bucket: 5m
    notify: [hook]
  - name: weather
    match:
      any: ["meteo"]
    bucket: 5m
    notify: [hook]
"""

BUCKET = 300
EVERYDAY = ("reserve conducteur passager voyage paris lyon lille nantes bordeaux "
            "marseille toulouse rennes weekend vendredi dimanche matin soir covoiturage "
            "prix place bagage retard arrivee depart gare aire autoroute merci super "
            "sympa conduite musique discussion itineraire horaire annulation message "
            "profil avis note voiture confortable rapide heure minute week famille "
            "ami etudiant vacances retour aller billet economie partage route pause").split()
WEATHER = "pluie soleil nuage orage vent neige chaud froid temperature prevision".split()


def mention(i, t, text):
    return json.dumps({"id": "m%d" % i, "text": text, "created_at": H.rfc3339(t),
                       "author": "@u%d" % (i % 997), "lang": "fr",
                       "url": "https://example.org/m/%d" % i})


class Emerging(H.HarkTestCase):

    def stream(self, rng, now):
        """The mentions, the spike's first bucket and the matched counts per
        rule."""
        start = (now - int(2.5 * 86400)) // BUCKET * BUCKET
        spike = (now - 3 * 3600) // BUCKET * BUCKET
        lines, i = [], 0
        matched = {"brand": 0, "weather": 0}
        for b in range(start, now // BUCKET * BUCKET - BUCKET, BUCKET):
            n = max(0, int(round(rng.gauss(16, 4))))
            outage = spike <= b < spike + 45 * 60
            if outage:
                n *= 3
            for k in range(n):
                words = rng.sample(EVERYDAY, 3)
                if outage and k % 2 == 0:
                    words += ["panne", rng.choice(["appli", "site", "serveur"])]
                text = "blablacar trajet " + " ".join(words)
                lines.append(mention(i, b + 1 + k * (BUCKET - 2) // n, text))
                i += 1
                matched["brand"] += 1
            for k in range(5):
                text = "meteo " + " ".join(rng.sample(WEATHER, 3))
                lines.append(mention(i, b + 7 + k * 50, text))
                i += 1
                matched["weather"] += 1
        # matching nothing, it takes the watermark to now: every bucket
        # above closes
        lines.append(mention(i, now, "nothing to see"))
        return lines, spike, matched

    def test_outage_word_emerges(self):
        rng = random.Random(14)
        sink = H.HttpSink()
        self.addCleanup(sink.close)
        h = self.harkd(CONF.format(sink=sink.url))
        now = int(time.time())
        lines, spike, matched = self.stream(rng, now)
        H.push(h.port, lines)

        def fired():
            return [b for b in sink.bodies() if isinstance(b, dict)
                    and b.get("status") == "firing" and b.get("rule") == "brand"]
        alerts = H.wait_until(fired, 60, 0.2, "a firing alert of brand")
        a = alerts[0]
        # one episode, over the spike
        self.assertTrue(spike <= H.parse_ts(a["window_start"]) < spike + 45 * 60, a)
        self.assertEqual(len(alerts), 1, alerts)
        em = [t["term"] for t in a.get("emerging_terms", [])]
        top = [t["name"] for t in a.get("top_terms", [])]
        self.assertEqual(em[:1], ["panne"], a)
        self.assertNotIn("trajet", em)
        # frequency alone names the everyday word
        self.assertEqual(top[:1], ["trajet"], a)
        for t in a["emerging_terms"]:
            self.assertGreaterEqual(t["count"], 3)
            self.assertGreaterEqual(t["ratio"], 2)
            self.assertIsInstance(t["usual"], (int, float))
        # no alert of the steady rule
        self.assertFalse([b for b in sink.bodies() if isinstance(b, dict)
                          and b.get("rule") == "weather"])

        # the same from the route, for the spike's second bucket
        st, body = H.get_json(h.port, "/v1/rules/brand/top?at=%s" %
                              H.rfc3339(spike + BUCKET + 10).replace("+", "%2B"))
        self.assertEqual(st, 200, body)
        self.assertFalse(body["open"])
        self.assertEqual(H.parse_ts(body["start"]), spike + BUCKET)
        self.assertEqual([t["term"] for t in body["emerging_terms"]][:1], ["panne"], body)
        self.assertEqual([t["term"] for t in body["terms"]][:1], ["trajet"], body)
        self.assertGreater(body["count"], 30)
        self.assertEqual(body["langs"][0], {"lang": "fr", "count": body["count"]})
        # an ordinary bucket a day before: no outage word emerging
        st, body = H.get_json(h.port, "/v1/rules/brand/top?at=%d" % (spike - 86400))
        self.assertEqual(st, 200, body)
        self.assertNotIn("panne", [t["term"] for t in body["emerging_terms"]])
        self.assertNotIn("panne", [t["term"] for t in body["terms"]])
        # the steady rule at the spike: its own words, nothing emerging of
        # the outage
        st, body = H.get_json(h.port, "/v1/rules/weather/top?at=%d" % (spike + BUCKET))
        self.assertEqual(st, 200, body)
        self.assertNotIn("panne", [t["term"] for t in body["emerging_terms"]])
        # the current window: open, with samples whose links are the
        # mentions' own
        st, body = H.get_json(h.port, "/v1/rules/brand/top")
        self.assertEqual(st, 200, body)
        # errors
        st, _ = H.get_json(h.port, "/v1/rules/nope/top")
        self.assertEqual(st, 404)
        st, _ = H.get_json(h.port, "/v1/rules/brand/top?at=yesterday")
        self.assertEqual(st, 400)

        # the series adds up to what was matched, with a baseline once warm
        st, rules = H.get_json(h.port, "/v1/rules")
        by = {r["name"]: r for r in rules["rules"]}
        for name in ("brand", "weather"):
            self.assertEqual(by[name]["matched_total"], matched[name])
            def added_up():
                st, s = H.get_json(h.port, "/v1/rules/%s/series?from=%d" % (name, now - 3 * 86400))
                self.assertEqual(st, 200, s)
                return sum(p["count"] for p in s["points"]) == matched[name] and s
            # the points go to the store with the rule's state, each tick
            s = H.wait_until(added_up, 20, 0.2, "the series of %s adding up" % name)
            warm = [p for p in s["points"] if p["state"] != "warming"]
            self.assertGreater(len(warm), 288, name)
            for p in warm:
                self.assertIsNotNone(p["baseline"], p)
                self.assertIsNotNone(p["high"], p)
        self.stop(h)


if __name__ == "__main__":
    import unittest
    unittest.main()
