#!/usr/bin/env python3
"""Notification ingest rate: POSTs batches of 100 push events (unique ids, valid
manifests under one project, each inside a push grant run.sh obtained) from C parallel
clients for S seconds; every batch must be answered 200 (durably stored), none of its
events refused. Prints events/s. Usage: ingest.py PORT SECRET PROJECT [S] [C] [RATE]
(RATE: at most that many events a second per client, as a background load; 0 = flat out)"""
import http.client, json, sys, threading, time

port, secret, project = int(sys.argv[1]), sys.argv[2], sys.argv[3]
secs = float(sys.argv[4]) if len(sys.argv) > 4 else 5.0
clients = int(sys.argv[5]) if len(sys.argv) > 5 else 4
rate = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
BATCH = 100


def body(client, n):
    # Stamped now: regauth applies an event only inside the push it granted (run.sh
    # asks the admin's push tokens for these repositories first).
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    events = []
    for i in range(BATCH):
        k = n * BATCH + i
        events.append({
            "id": f"bench-{client}-{k}", "timestamp": now, "action": "push",
            "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": "sha256:%064x" % (client * 10**9 + k), "size": 1234,
                       "repository": f"{project}/repo{k % 50}", "tag": f"t{k}"},
            "actor": {"name": "admin"}})
    return json.dumps({"events": events})


done, failures = [0] * clients, [0] * clients


def run(client):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {secret}",
               "Content-Type": "application/vnd.docker.distribution.events.v1+json"}
    began = time.time()
    deadline, n = began + secs, 0
    while time.time() < deadline:
        if rate and n * BATCH > (time.time() - began) * rate:
            time.sleep(min(0.05, deadline - time.time()) if deadline > time.time() else 0)
            continue
        conn.request("POST", "/notifications", body(client, n), headers)
        r = conn.getresponse()
        answer = r.read()
        if r.status == 200 and json.loads(answer).get("unauthorized", 0) == 0:
            done[client] += BATCH
        else:
            failures[client] += 1
        n += 1


start = time.time()
threads = [threading.Thread(target=run, args=(c,)) for c in range(clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.time() - start
print(f"notification ingest: {sum(done) / elapsed:,.0f} events/s in batches of {BATCH} "
      f"({clients} clients, {elapsed:.1f} s, {sum(failures)} failed batches)")
sys.exit(1 if sum(failures) else 0)
