#!/usr/bin/env bash
# zstd level 1 against level 3 on a PostgreSQL dump of real data.
#
# The brief measured level 1 at 99.6% of level 3's ratio on one real dump;
# this checks that on a dump of this machine's own data. It starts a
# throwaway PostgreSQL cluster and loads three tables from real files:
#   files    - path, size, mode, owner and mtime of every file under /usr, /etc, /var/lib
#   docs     - the text of every document and man page (/usr/share/{doc,man,perl})
#   packages - the dpkg status database (name, version, depends, description)
# then dumps it with `pg_dump --format=custom -Z0` (as the adapter does) and
# compresses the dump in pieces of 16 KiB (the `database` profile's average
# chunk) and 1 MiB (the `files` profile's) at levels 1 and 3, best of 3.
# Needs python3-zstandard (`pip install zstandard`).
#
# usage: benches/pg-dump-levels.sh [WORKDIR]   (default /dev/shm/cairn-pglevels)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:-/dev/shm/cairn-pglevels}"
. "$here/pg-cluster.sh"
pg_cluster "$work"

# Tab-separated rows for COPY, from the machine's own files.
python3 - "$work" <<'PY'
import gzip, os, sys
out = sys.argv[1]
def esc(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r").replace("\x00", "")
with open(f"{out}/files.tsv", "w") as f:
    for top in ("/usr", "/etc", "/var/lib"):
        for d, _, names in os.walk(top):
            for n in sorted(names):
                p = os.path.join(d, n)
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                f.write(f"{esc(p)}\t{st.st_size}\t{oct(st.st_mode)}\t{st.st_uid}\t{st.st_gid}\t{int(st.st_mtime)}\t{st.st_ino}\n")
with open(f"{out}/docs.tsv", "w") as f:
    for top in ("/usr/share/doc", "/usr/share/man", "/usr/share/perl"):
        for d, _, names in os.walk(top):
            for n in sorted(names):
                p = os.path.join(d, n)
                if os.path.islink(p):
                    continue
                try:
                    b = gzip.open(p).read() if n.endswith(".gz") else open(p, "rb").read()
                except Exception:
                    continue
                if b"\x00" not in b[:4096]:
                    f.write(f"{esc(p)}\t{len(b)}\t{esc(b.decode('utf-8', 'replace'))}\n")
with open(f"{out}/packages.tsv", "w") as f:
    for block in open("/var/lib/dpkg/status").read().split("\n\n"):
        kv, last = {}, None
        for line in block.split("\n"):
            if line.startswith(" ") and last:
                kv[last] += "\n" + line
            elif ":" in line:
                k, v = line.split(":", 1)
                kv[k], last = v.strip(), k
        if "Package" in kv:
            keys = ("Package", "Version", "Architecture", "Installed-Size", "Depends", "Description")
            f.write("\t".join(esc(kv.get(k, "")) for k in keys) + "\n")
PY
chmod a+r "$work"/*.tsv
psql -d postgres -c "CREATE TABLE files (path text, size bigint, mode text, uid int, gid int, mtime bigint, ino bigint)" \
     -c "CREATE TABLE docs (path text, size int, body text)" \
     -c "CREATE TABLE packages (name text, version text, arch text, isize text, depends text, descr text)"
for t in files docs packages; do psql -d postgres -c "\\copy $t from '$work/$t.tsv'"; done
psql -d postgres -At -c "SELECT 'rows: files ' || (SELECT count(*) FROM files) || ', docs ' || (SELECT count(*) FROM docs) || ', packages ' || (SELECT count(*) FROM packages)"
"$bin/pg_dump" --format=custom -Z0 -f "$work/real.dump" postgres

python3 - "$work/real.dump" <<'PY'
import sys, time, zstandard
data = open(sys.argv[1], "rb").read()
print(f"dump: {len(data) / 1e6:.0f} MB")
for piece in (16 << 10, 1 << 20):
    parts = [data[i:i + piece] for i in range(0, len(data), piece)]
    got = {}
    for level in (1, 3):
        c = zstandard.ZstdCompressor(level=level)
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            size = sum(len(c.compress(p)) for p in parts)
            best = min(best, time.perf_counter() - t)
        got[level] = (size, best)
    (s1, t1), (s3, t3) = got[1], got[3]
    print(f"{piece >> 10:>5} KiB pieces: level 1 ratio {len(data) / s1:.3f} at {len(data) / t1 / 1e6:.0f} MB/s, "
          f"level 3 ratio {len(data) / s3:.3f} at {len(data) / t3 / 1e6:.0f} MB/s; level 1 stores {(s1 / s3 - 1) * 100:+.1f}%")
PY
