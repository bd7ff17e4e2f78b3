#!/usr/bin/env python3
"""A stand-in for Keycloak's kc.sh, for tests: no Keycloak server can run here.

It accepts the real command lines

    kc-standin.py export --dir D [--realm R] [--users MODE] [--users-per-file N] [...]
    kc-standin.py import --dir D [--override true|false] [...]

Export writes real export files in Keycloak's directory layout
(REALM-realm.json, REALM-users-N.json, Jackson's `"key" : value` layout),
built from a real Keycloak 26.6.0 export (KC_FIXTURE, a JSON array of
realms). Import reads such a directory back and stores each realm in
KC_STATE (one file per realm, users merged in), as a server would hold it.

Test knobs (environment): KC_EXTRA_USERS=N adds N synthetic users to the
first realm (deterministic); KC_CHANGE=K changes the e-mail of K of them;
KC_DAMAGE=missing-users-file|truncate-realm|short-users-file|duplicate-user
damages the written set; KC_FAIL=1 exits 1 after writing nothing.
"""
import copy, json, os, sys


def dump(obj):
    return json.dumps(obj, indent=2, separators=(",", " : "), ensure_ascii=False)


def args(argv):
    out, i = {}, 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("--") and "=" in a:
            k, v = a[2:].split("=", 1)
            out[k] = v
        elif a.startswith("--") and i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            out[a[2:]] = argv[i + 1]
            i += 1
        else:
            out[a.lstrip("-")] = "true"
        i += 1
    return out


def realms():
    data = json.load(open(os.environ["KC_FIXTURE"]))
    data = data if isinstance(data, list) else [data]
    extra = int(os.environ.get("KC_EXTRA_USERS", "0"))
    change = int(os.environ.get("KC_CHANGE", "0"))
    if extra:
        template = next(u for r in data for u in r.get("users", []))
        first = data[0]
        first.setdefault("users", [])
        for n in range(extra):
            u = copy.deepcopy(template)
            u["id"] = "00000000-0000-4000-8000-%012d" % n
            u["username"] = "user-%05d" % n
            u["email"] = "user-%05d%s@example.com" % (n, "-changed" if n < change else "")
            u["createdTimestamp"] = 1700000000000 + n
            first["users"].append(u)
    return data


def export(o):
    d = o["dir"]
    mode = o.get("users", "different_files")
    per = int(o.get("users-per-file", "50"))
    if os.environ.get("KC_FAIL"):
        print("ERROR: Failed to start server in (export) mode", file=sys.stderr)
        sys.exit(1)
    os.makedirs(d, exist_ok=True)
    for r in realms():
        if "realm" in o and r["realm"] != o["realm"]:
            continue
        name = r["realm"]
        users = r.pop("users", [])
        if mode == "realm_file" and users:
            r["users"] = users
        open(os.path.join(d, name + "-realm.json"), "w").write(dump(r))
        if mode == "same_file" and users:
            chunks = [users]
        elif mode == "different_files":
            chunks = [users[i:i + per] for i in range(0, len(users), per)]
        else:
            chunks = []
        for n, part in enumerate(chunks):
            open(os.path.join(d, "%s-users-%d.json" % (name, n)), "w").write(dump({"realm": name, "users": part}))
    damage(d, os.environ.get("KC_DAMAGE", ""))
    print("Export finished successfully")


def damage(d, what):
    files = sorted(os.listdir(d))
    # The users files of the realm with the most of them, in order.
    by_realm = {}
    for f in files:
        if "-users-" in f:
            realm, n = f[: -len(".json")].rsplit("-users-", 1)
            by_realm.setdefault(realm, []).append((int(n), f))
    users = [f for _, f in sorted(max(by_realm.values(), key=len))] if by_realm else []
    if what == "missing-users-file":
        os.remove(os.path.join(d, users[len(users) // 2]))
    elif what == "truncate-realm":
        p = os.path.join(d, next(f for f in files if f.endswith("-realm.json")))
        b = open(p, "rb").read()
        open(p, "wb").write(b[: len(b) // 2])
    elif what == "short-users-file":
        p = os.path.join(d, users[0])
        j = json.load(open(p))
        j["users"] = j["users"][:-1]
        open(p, "w").write(dump(j))
    elif what == "duplicate-user":
        p = os.path.join(d, users[-1])
        j = json.load(open(p))
        first = json.load(open(os.path.join(d, users[0])))["users"][0]
        j["users"][-1] = first
        open(p, "w").write(dump(j))


def do_import(o):
    d, state = o["dir"], os.environ["KC_STATE"]
    override = o.get("override", "true") == "true"
    os.makedirs(state, exist_ok=True)
    held = {}
    for f in sorted(os.listdir(d)):
        j = json.load(open(os.path.join(d, f)))
        if f.endswith("-realm.json"):
            held.setdefault(j["realm"], {}).update(j)
        else:
            held.setdefault(j["realm"], {}).setdefault("users", []).extend(j["users"])
    for name, r in held.items():
        p = os.path.join(state, name + ".json")
        if os.path.exists(p) and not override:
            print("Realm '%s' already exists. Import skipped" % name)
            continue
        open(p, "w").write(dump(r))
        print("Realm '%s' imported" % name)


o = args(sys.argv[2:])
{"export": export, "import": do_import}[sys.argv[1]](o)
