#!/usr/bin/env bash
# Which metadata cairn and restic keep, on the same tree in the same run.
# Builds a tree with everything a backup of /etc and /home meets (owners,
# set-id and sticky modes, hard links, user and trusted xattrs, a POSIX
# ACL, a sparse file, a FIFO, character and block devices, a socket, a
# symlink, nanosecond atime and mtime), backs it up and restores it with
# each tool (as root), and prints one row per property: kept or not.
#
# usage: benches/fidelity/run.sh [--work DIR]      (needs root)
# Installs restic and acl from Debian when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
work=/tmp/cairn-fidelity
while [ $# -gt 0 ]; do
    case "$1" in
        --work) work="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "run as root (owners, devices, trusted xattrs)" >&2; exit 1; }
for t in restic setfacl; do
    if ! command -v "$t" >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq restic acl >/dev/null
    fi
done
cargo build --release -q -p cairn-cli --manifest-path "$root/Cargo.toml"
cairn="$root/target/release/cairn"
rm -rf "$work"; mkdir -p "$work"
src="$work/src"
mkdir -p "$src/home/ops" "$src/shared-tmp"
f="$src/home/ops/notes.txt"
python3 -c "print('notes\n' * 300, end='')" > "$f"
chown 1234:5678 "$f" "$src/home/ops"
ln "$f" "$src/home/ops/notes-link.txt"
python3 - "$f" <<'PY'
import os, sys
os.setxattr(sys.argv[1], "user.cairn", b"user value")
os.setxattr(sys.argv[1], "trusted.cairn", b"root value")
PY
setfacl -m u:nobody:rw "$f"
printf '#!/bin/sh\n' > "$src/setuid-tool"; chmod 4755 "$src/setuid-tool"
chmod 1777 "$src/shared-tmp"
printf head > "$src/sparse.img"; truncate -s 40M "$src/sparse.img"; printf tail >> "$src/sparse.img"
mkfifo -m 0640 "$src/fifo"
mknod -m 0660 "$src/null-dev" c 1 3
mknod -m 0600 "$src/loop-dev" b 7 200
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$src/socket"
ln -s home/ops/notes.txt "$src/notes-symlink"
touch -h -a -d '2020-01-02 03:04:05.123456789' "$f"
touch -m -d '2021-06-07 08:09:10.5' "$f"

echo pw > "$work/pw"
export CAIRN_PASSWORD_FILE="$work/pw" RESTIC_PASSWORD=pw
"$cairn" --repo "$work/cairn-repo" init >/dev/null
"$cairn" --repo "$work/cairn-repo" backup "$src" >/dev/null || true
"$cairn" --repo "$work/cairn-repo" restore latest --target "$work/cairn-out" >/dev/null
restic -q -r "$work/restic-repo" init >/dev/null
restic -q -r "$work/restic-repo" backup "$src" >/dev/null || true
restic -q -r "$work/restic-repo" restore latest --target "$work/restic-out" >/dev/null 2>&1 || true
restic_version=$(restic version | awk '{print $2}')

python3 - "$src" "$work/cairn-out$src" "$work/restic-out$src" "$restic_version" <<'PY'
import os, stat, subprocess, sys
src, outs, rv = sys.argv[1], {"cairn": sys.argv[2], "restic": sys.argv[3]}, sys.argv[4]
def st(p):
    try: return os.lstat(p)
    except FileNotFoundError: return None
def acl(p):
    r = subprocess.run(["getfacl", "--omit-header", "--absolute-names", p], capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else ""
def xattr(p, name):
    try: return os.getxattr(p, name, follow_symlinks=False)
    except OSError: return None
n = "home/ops/notes.txt"
def read(p):
    # O_NOATIME: reading must not move the atime checked below.
    fd = os.open(p, os.O_RDONLY | os.O_NOATIME)
    try: return os.read(fd, 1 << 20)
    finally: os.close(fd)
checks = [
    ("atime with nanoseconds", lambda o: st(os.path.join(o, n)).st_atime_ns == 1577934245123456789),
    ("file content", lambda o: read(os.path.join(o, n)) == read(os.path.join(src, n))),
    ("owner uid/gid (1234:5678)", lambda o: (st(os.path.join(o, n)).st_uid, st(os.path.join(o, n)).st_gid) == (1234, 5678)),
    ("mtime with nanoseconds", lambda o: st(os.path.join(o, n)).st_mtime_ns == st(os.path.join(src, n)).st_mtime_ns),
    ("hard link restored as a link", lambda o: st(os.path.join(o, n)).st_ino == st(os.path.join(o, "home/ops/notes-link.txt")).st_ino),
    ("user.* xattr", lambda o: xattr(os.path.join(o, n), "user.cairn") == b"user value"),
    ("trusted.* xattr", lambda o: xattr(os.path.join(o, n), "trusted.cairn") == b"root value"),
    ("POSIX ACL (user:nobody:rw-)", lambda o: "user:nobody:rw-" in acl(os.path.join(o, n))),
    ("set-uid mode 4755", lambda o: stat.S_IMODE(st(os.path.join(o, "setuid-tool")).st_mode) == 0o4755),
    ("sticky dir mode 1777", lambda o: stat.S_IMODE(st(os.path.join(o, "shared-tmp")).st_mode) == 0o1777),
    ("sparse file restored sparse", lambda o: st(os.path.join(o, "sparse.img")).st_blocks * 512 < (1 << 20)),
    ("FIFO", lambda o: st(os.path.join(o, "fifo")) is not None and stat.S_ISFIFO(st(os.path.join(o, "fifo")).st_mode)),
    ("character device", lambda o: st(os.path.join(o, "null-dev")) is not None and stat.S_ISCHR(st(os.path.join(o, "null-dev")).st_mode) and st(os.path.join(o, "null-dev")).st_rdev == st(os.path.join(src, "null-dev")).st_rdev),
    ("block device", lambda o: st(os.path.join(o, "loop-dev")) is not None and stat.S_ISBLK(st(os.path.join(o, "loop-dev")).st_mode)),
    ("symlink target", lambda o: os.readlink(os.path.join(o, "notes-symlink")) == "home/ops/notes.txt"),
    ("socket (not restorable; recorded)", None),
]
print(f"| property | cairn | restic {rv} |")
print("|---|---|---|")
for name, f in checks:
    row = []
    for tool, o in outs.items():
        if f is None:
            row.append("recorded, skipped" if tool == "cairn" else "-")
            continue
        try: row.append("kept" if f(o) else "lost")
        except Exception as e: row.append(f"lost ({type(e).__name__})")
    print(f"| {name} | {row[0]} | {row[1]} |")
PY
