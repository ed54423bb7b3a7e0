#!/usr/bin/env python3
"""Login storms against a running regauth: N parallel logins of one kind while a user
whose password is already verified asks for tokens in a loop. Prints, per storm, the
answers by status, the server's peak and final resident memory, and the verified user's
latency (p50, p99, max). Usage: storm.py PORT PID [N]"""
import base64, socket, sys, threading, time

port, pid = int(sys.argv[1]), int(sys.argv[2])
n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000


def rss_mb():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def get_token(user, password):
    """(status, seconds) of one GET /token on a fresh connection; status 0 = reset."""
    cred = base64.b64encode(f"{user}:{password}".encode()).decode()
    req = (f"GET /token?service=registry HTTP/1.1\r\nHost: x\r\n"
           f"Authorization: Basic {cred}\r\nConnection: close\r\n\r\n").encode()
    start = time.perf_counter()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        s.sendall(req)
        data = b""
        while len(data) < 12:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        while s.recv(65536):
            pass
        s.close()
        status = int(data[9:12]) if len(data) >= 12 else 0
    except OSError:
        status = 0
    return status, time.perf_counter() - start


def storm(name, creds):
    peak = [rss_mb()]
    done = threading.Event()
    latencies, cached_codes = [], []

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb())
            time.sleep(0.02)

    def cached():
        while not done.is_set():
            code, secs = get_token("cached", "cached password")
            cached_codes.append(code)
            latencies.append(secs)
            time.sleep(0.005)

    codes = [None] * n
    barrier = threading.Barrier(n)

    def one(i):
        barrier.wait()
        codes[i] = get_token(*creds(i))[0]

    threads = [threading.Thread(target=sample), threading.Thread(target=cached)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    workers = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    time.sleep(0.3)
    done.set()
    for t in threads:
        t.join()
    time.sleep(1)
    by = {}
    for c in codes:
        by[c] = by.get(c, 0) + 1
    lat = sorted(latencies)
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else float("nan")
    answers = " ".join(f"{k}:{v}" for k, v in sorted(by.items()))
    ok_cached = sum(1 for c in cached_codes if c == 200)
    print(f"{name:<30} {answers:<24} peak {peak[0]:6.1f} MB  after {rss_mb():6.1f} MB  "
          f"verified user {ok_cached}/{len(cached_codes)} ok, p50 {pct(0.5):6.1f} ms, "
          f"p99 {pct(0.99):6.1f} ms, max {lat[-1] * 1000 if lat else 0:6.1f} ms")


print(f"{n} parallel logins per storm; the server's RSS before: {rss_mb():.1f} MB")
storm("unknown users", lambda i: (f"ghost{i}", f"guess{i}"))
storm("distinct wrong passwords", lambda i: ("victim", f"wrong{i}"))
storm("one correct password, cold", lambda i: ("victim", "victim password"))
