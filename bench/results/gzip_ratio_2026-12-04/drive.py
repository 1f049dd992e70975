# Drives the To-Do app with varied requests. Usage: drive.py BASEURL N
import random, sys, requests
base, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(42)
verbs = ["buy", "call", "email", "fix", "review", "write", "book", "pay", "clean", "plan", "read", "send", "order", "update"]
objs = ["milk", "the plumber", "Alice about the Q3 report", "bug #%d", "PR %d in otlpd", "invoice INV-%05d", "flight to Berlin",
        "the garage", "dentist appointment", "chapter %d", "birthday gift for Bob", "tax return %d", "kitchen sink", "groceries",
        "release notes v0.%d", "the README", "Ünïcödé title ✓", "a very long task title that goes on and on describing things in detail %d"]
agents = ["Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
          "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
          "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
          "curl/8.5.0", "python-requests/2.34.2", "k6/0.52.0 (https://k6.io/)"]
ids = []
next_id = 1
codes = {}
s = requests.Session()
for i in range(n):
    h = {"User-Agent": rng.choice(agents)}
    r = rng.random()
    follow = rng.random() < 0.5
    if r < 0.35:
        o = rng.choice(objs)
        if "%" in o: o = o % rng.randint(1, 99999)
        title = f"{rng.choice(verbs)} {o}"
        resp = s.post(base + "/add", data={"task": title}, headers=h, allow_redirects=follow)
    elif r < 0.40:
        resp = s.post(base + "/add", data={"task": "  "}, headers=h, allow_redirects=follow)
    elif r < 0.65:
        q = rng.choice(["", "", "?page=%d" % rng.randint(1, 20), "?q=" + rng.choice(verbs), "?sort=id&dir=desc"])
        resp = s.get(base + "/" + q, headers=h)
    elif r < 0.85:
        tid = rng.randint(1, 3000) if rng.random() < 0.5 else rng.randint(1, 99999)
        resp = s.get(base + f"/delete/{tid}", headers=h, allow_redirects=follow)
    elif r < 0.95:
        path = rng.choice(["/favicon.ico", "/robots.txt", "/admin", "/api/v1/tasks/%d" % rng.randint(1, 999), "/wp-login.php",
                           "/static/app.js", "/delete/abc", "/.env"])
        resp = s.get(base + path, headers=h)
    else:
        resp = s.request(rng.choice(["PUT", "DELETE", "PATCH"]), base + "/add", headers=h)
    codes[resp.status_code] = codes.get(resp.status_code, 0) + 1
print("status codes:", codes)
