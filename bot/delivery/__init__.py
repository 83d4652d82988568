"""Broadcasts and reminders: the outbox, its delivery worker, the scheduler that fills it.

outbox.py     the SQL outbox: claim, mark, record, recover (and the rule for `sending` rows)
ratelimit.py  the pacer: a token bucket capped by an exact sliding one-second window
worker.py     the delivery worker: one lane per channel
locks.py      PostgreSQL advisory locks: scheduler leadership and worker liveness
scheduler.py  APScheduler inside `bpu-bot run`: broadcasts at their time, reminder ticks
reminders.py  reminder dates (relative to the day a worker pays) and the periodic job
broadcasts.py segments, preview, creation, fan-out, status
quiet.py      quiet hours in the contact's own zone (WIB, WITA, WIT)
"""
