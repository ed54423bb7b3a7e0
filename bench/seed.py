#!/usr/bin/env python3
"""Seeds a regauth directory file with a large population, straight into SQLite (the
schema regauth's own migrations made: run any regauth command on the file first).

    seed.py DB USERS TEAMS PROJECTS REPOSITORIES ACL_ENTRIES

Users u0..uN share one real argon2id hash (of "seeded password"), so seeding costs no
argon2 run; teams have ~100 members each; projects get an owner, teams and users in
their ACL; one repository in ten has local sharing settings. ACL entries are spread so
their total is ACL_ENTRIES. Prints how long seeding took (stdout, one line).

Progress goes to stderr only: a bar on a terminal, else a plain line at most every
REGAUTH_PROGRESS_INTERVAL_MS (default 2000); REGAUTH_PROGRESS=lines forces the lines,
=never silences both (as regauth's own directory commands do)."""
import os, random, sqlite3, sys, time


class Progress:
    """Rows seeded per table, drawn on stderr at most 10 times a second (a bar) or every
    interval (plain lines); counting a row costs a counter increment."""

    def __init__(self):
        mode = os.environ.get("REGAUTH_PROGRESS", "auto") or "auto"
        if mode not in ("auto", "lines", "never"):
            sys.exit(f"seed.py: REGAUTH_PROGRESS={mode!r}: expected auto, lines or never")
        try:
            self.every = int(os.environ.get("REGAUTH_PROGRESS_INTERVAL_MS", "2000")) / 1000
        except ValueError:
            sys.exit("seed.py: REGAUTH_PROGRESS_INTERVAL_MS: expected a number of milliseconds")
        self.mode = "bar" if mode == "auto" and sys.stderr.isatty() else mode
        self.started = time.monotonic()
        self.next = self.started + (0.1 if self.mode == "bar" else self.every)
        self.name, self.total, self.done = "", 0, 0

    def phase(self, name, total):
        self.name, self.total, self.done = name, total, 0
        self.draw(time.monotonic())

    def counted(self, rows):
        for row in rows:
            self.done += 1
            if not self.done & 1023:
                now = time.monotonic()
                if now >= self.next:
                    self.draw(now)
            yield row

    def describe(self):
        if not self.total:
            return 100, self.name
        pct = min(100, self.done * 100 // self.total)
        return pct, f"{self.name} {min(self.done, self.total)}/{self.total} ({pct}%)"

    def draw(self, now):
        if self.mode == "never" or now < self.next:
            return
        pct, text = self.describe()
        if self.mode == "bar":
            filled = pct * 30 // 100
            sys.stderr.write(f"\r\x1b[2Kseed: [{'=' * filled}{' ' * (30 - filled)}] {text}")
            self.next = now + 0.1
        else:
            sys.stderr.write(f"seed: {text}\n")
            self.next = now + self.every
        sys.stderr.flush()

    def finish(self):
        if self.mode == "bar":
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()


db, n_users, n_teams, n_projects, n_repos, n_acl = sys.argv[1], *map(int, sys.argv[2:7])
# argon2id of "seeded password" with regauth's parameters (any valid PHC string works).
PHC = sys.stdin.readline().strip() if not sys.stdin.isatty() else ""
random.seed(7)
started = time.time()
progress = Progress()
c = sqlite3.connect(db)
c.execute("PRAGMA journal_mode=WAL")
c.execute("PRAGMA synchronous=OFF")
c.execute("BEGIN")
now = int(time.time())
progress.phase("users", n_users)
c.executemany(
    "INSERT INTO users (id, name, password_hash, certified, admin, disabled, created_at) VALUES (?, ?, ?, ?, 0, 0, ?)",
    progress.counted((1_000_000 + i, f"u{i}", PHC or None, i % 2, now) for i in range(n_users)))
progress.phase("teams", n_teams)
c.executemany("INSERT INTO teams (id, name) VALUES (?, ?)",
              progress.counted((1_000_000 + t, f"t{t}") for t in range(n_teams)))
members = set()
for u in range(n_users):
    members.add((1_000_000 + random.randrange(n_teams), 1_000_000 + u))
progress.phase("team_members", len(members))
c.executemany("INSERT OR IGNORE INTO team_members (team_id, user_id) VALUES (?, ?)",
              progress.counted(members))
FIRST = 10_000_000
progress.phase("projects", n_projects)
c.executemany("INSERT INTO entities (id, kind, name, created_at) VALUES (?, 'project', ?, ?)",
              progress.counted((FIRST + p, f"seeded project {p}", now) for p in range(n_projects)))
repos_per = max(1, n_repos // max(1, n_projects))
repo_rows, local = [], []
rid = FIRST + n_projects
for p in range(n_projects):
    for r in range(repos_per):
        has_local = 1 if (rid % 10) == 0 else 0
        repo_rows.append((rid, f"repo{r}", FIRST + p, now, has_local))
        if has_local:
            local.append(rid)
        rid += 1
progress.phase("repositories", len(repo_rows))
c.executemany("INSERT INTO entities (id, kind, name, parent_id, created_at, has_local_acl) VALUES (?, 'managed_repository', ?, ?, ?, ?)",
              progress.counted(repo_rows))
# Spread the ACL entries over projects (each ~) and the repositories with local settings.
holders = [FIRST + p for p in range(n_projects)] + local
per = max(1, n_acl // max(1, len(holders)))
def acl():
    for e in holders:
        seen = set()
        for k in range(per):
            if k == 0:
                key = ("user", 1_000_000 + random.randrange(n_users), 63)
            elif k % 3 == 0:
                key = ("team", 1_000_000 + random.randrange(n_teams), 3)
            else:
                key = ("user", 1_000_000 + random.randrange(n_users), 1 | 2 | (4 if k % 5 == 0 else 0))
            if (key[0], key[1]) in seen:
                continue
            seen.add((key[0], key[1]))
            yield (e, key[0], key[1], key[2])
progress.phase("acl_entries", len(holders) * per)
c.executemany("INSERT INTO acl_entries (entity_id, principal_kind, principal_id, access_bits) VALUES (?, ?, ?, ?)",
              progress.counted(acl()))
progress.phase("committing", 0)
c.execute("COMMIT")
counts = {t: c.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
          for t in ("users", "teams", "team_members", "entities", "acl_entries")}
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
c.close()
progress.finish()
print(f"seeded in {time.time() - started:.1f} s: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
