//! Help text beyond the flags: the environment, exit codes, and examples
//! per command (shown by `cairn help COMMAND` and `COMMAND --help`).
//! Kept true by `bins/cairn/tests/parity.rs`: every `env = "CAIRN_..."` of
//! the flags must be listed, and each command's help must show its
//! examples and exit codes.

/// After `cairn --help`: environment and exit codes.
pub const MAIN: &str = "\
Environment:
  CAIRN_REPOSITORY          repository location (--repo)
  CAIRN_PASSWORD_FILE       file holding the password (--password-file)
  CAIRN_PASSWORD_COMMAND    command printing the password (--password-command)
  CAIRN_KEY_FILE            key file (--key-file)
  CAIRN_KEY_HINT            key slot to try first (--key-hint)
  CAIRN_NEW_PASSWORD_FILE, CAIRN_NEW_PASSWORD_COMMAND
                            the new secret for `key add` and `key passwd`
  CAIRN_TO_PASSWORD_FILE, CAIRN_TO_PASSWORD_COMMAND, CAIRN_TO_KEY_FILE
                            the key of `copy --to REPO`
  CAIRN_FROM_PASSWORD_FILE, CAIRN_FROM_PASSWORD_COMMAND, CAIRN_FROM_KEY_FILE
                            the key of `init --copy-chunker-params-from REPO`
  CAIRN_S3_ENDPOINT         S3 endpoint (--s3-endpoint; else AWS_ENDPOINT_URL)
  CAIRN_METRICS_DIR         Prometheus textfile directory (--metrics-dir)
  CAIRN_NOTIFY_URL          webhook for events (--notify-url)
  CAIRN_NOTIFY_COMMAND      command for events (--notify-command)
  CAIRN_PG_DSN              PostgreSQL connection (--dsn)
  CAIRN_PG_SCRATCH_DSN      server for throwaway restores (--scratch-dsn)
  CAIRN_PG_BIN              directory of the PostgreSQL tools (--pg-bin)
  CAIRN_STATE_DIR           where plan run records are kept
  CAIRN_CACHE_DIR           local cache of the WAL catalog (CAIRN_NO_CACHE: none)
  NO_COLOR                  no colours, even on a terminal

Exit codes:
  0 success; 1 failed; 2 bad usage; 3 incomplete (backup or restore wrote what
  it could); 4 repository damaged; 5 plan, drill or verify component failed;
  6 overdue (plan status, wal status); 7 restore refused by an ordering rule;
  10 no repository there; 12 wrong key; 130 stopped by SIGINT/SIGTERM.

`cairn help COMMAND` shows a command's options, examples and exit codes.";

/// Examples and exit codes of one command, by name.
pub const COMMANDS: &[(&str, &str)] = &[
    (
        "init",
        "\
Examples:
  cairn init -r /srv/backup/acme --generate-key-file /root/acme.key
  CAIRN_PASSWORD_FILE=/root/pw cairn init -r s3://bucket/acme

Exit codes: 0 created; 1 failed (the location already holds a repository).",
    ),
    (
        "backup",
        "\
Examples:
  cairn backup /srv/www --exclude '*.tmp' --tag www
  cairn backup --dry-run /srv/www            # what would be stored; nothing is
  pg_dump -Fc shop | cairn backup --stdin --stdin-name shop.dump
  cairn backup --stdin-from-command --stdin-name shop.dump -- pg_dump -Fc shop
  cairn backup postgres --all-databases
  cairn backup kubernetes --kubeconfig ~/.kube/config --exclude-namespace kube-system
  cairn backup mongodb --uri 'mongodb://backup@db:27017/?replicaSet=rs0' --exclude-db scratch
  mongodump --archive --oplog | cairn backup mongodb --archive -

Exit codes: 0 stored; 3 snapshot stored, but some files could not be read or
changed while read; 10 no repository; 12 wrong key; 130 interrupted (nothing
lost: what was read is stored, no snapshot).",
    ),
    (
        "snapshots",
        "\
Examples:
  cairn snapshots --host db1 --tag prod
  cairn snapshots --latest 1 --json

Exit codes: 0; 10 no repository; 12 wrong key.",
    ),
    (
        "restore",
        "\
Examples:
  cairn restore latest --target /srv/restore
  cairn restore latest --host web1 --target /tmp/r --include /srv/www/uploads
  cairn restore 1a2b3c4d --target /tmp/r --include '*.conf' --exclude '*.bak' --verify
  cairn restore kubernetes latest --dry-run --namespace stoa-system
  cairn restore kubernetes latest --to-yaml /tmp/k8s   # files for kubectl apply -f
  cairn restore mongodb latest --uri mongodb://db:27017 --ns-from 'app.*' --ns-to 'app_copy.*'

Exit codes: 0 restored; 3 some entries or metadata could not be restored
(listed); 4 damaged data (the affected files are named); 1 failed.",
    ),
    (
        "dump",
        "\
Examples:
  cairn dump latest shop.dump | pg_restore -d shop
  cairn dump latest /srv/www > www.tar         # a directory is a tar stream
  cairn dump kubernetes latest /tmp/k8s        # YAML files for kubectl apply -f
  cairn dump mongodb latest app.archive        # mongorestore --archive=app.archive

Exit codes: 0; 1 no such path; 4 damaged data.",
    ),
    (
        "ls",
        "\
Examples:
  cairn ls latest /srv/www
  cairn ls --json 1a2b3c4d

Exit codes: 0; 1 no such snapshot or path.",
    ),
    (
        "find",
        "\
Examples:
  cairn find '*.sql'
  cairn find -i 'readme*' --host web1 --json

Exit codes: 0 (also when nothing matches); 1 failed.",
    ),
    (
        "tag",
        "\
Examples:
  cairn tag --add keep-forever 1a2b3c4d
  cairn tag --host db1 --tag old --set archived

Exit codes: 0; 1 failed (append-only keys may not retag).",
    ),
    (
        "stats",
        "\
Examples:
  cairn stats                                   # the whole repository
  cairn stats latest                            # what a restore of it writes
  cairn stats --mode raw-data --tag prod        # stored blobs prod needs, and what only prod holds
  cairn stats --mode raw-data --per-snapshot    # per snapshot: what forgetting it alone frees
  cairn stats --mode files-by-contents --per-snapshot

Exit codes: 0; 1 failed.",
    ),
    (
        "forget",
        "\
Examples:
  cairn forget --keep-daily 7 --keep-weekly 4 --dry-run
  cairn forget --host db1 --keep-last 3 --prune
  cairn forget 1a2b3c4d

Exit codes: 0; 1 failed (append-only repositories refuse).",
    ),
    (
        "prune",
        "\
Examples:
  cairn prune --dry-run
  cairn prune --grace 0       # when no backup is running

Exit codes: 0; 1 failed; 4 damage found (nothing is deleted then).",
    ),
    (
        "check",
        "\
Examples:
  cairn check
  cairn check --read-data-subset 10%
  cairn check --read-data-rotate 30             # every pack read over 30 runs
  cairn check --read-data --tag prod            # only prod's snapshots and packs

Exit codes: 0 clean; 4 damage found (listed, with the affected paths).",
    ),
    (
        "copy",
        "\
Examples:
  CAIRN_TO_KEY_FILE=/root/dr.key cairn copy --to s3://dr/acme --tag prod

Exit codes: 0; 1 failed (what was copied stays copied).",
    ),
    (
        "rewrite",
        "\
Examples:
  cairn rewrite --exclude /srv/www/secrets.env --dry-run
  cairn rewrite --exclude '*.pem' --forget --host web1 && cairn prune

Exit codes: 0; 1 failed (an old snapshot is deleted only after its new one
is stored).",
    ),
    (
        "mount",
        "\
Examples:
  mkdir -p /mnt/cairn && cairn mount /mnt/cairn &
  ls /mnt/cairn/hosts/web1/latest/srv/www
  umount /mnt/cairn

Exit codes: 0 unmounted; 1 could not mount (needs /dev/fuse, and root or
fusermount3).",
    ),
    (
        "diff",
        "\
Examples:
  cairn diff latest~1 latest

Exit codes: 0; 1 failed.",
    ),
    (
        "plan",
        "\
Examples:
  cairn plan validate shop.toml
  cairn plan run shop.toml && cairn plan status shop.toml
  cairn plan restore shop.toml --dry-run

Exit codes: 5 a component failed; 6 overdue (status); 7 ordering rule refused
the restore; 0 otherwise.",
    ),
    (
        "drill",
        "\
Examples:
  cairn drill --pick random --scratch-dsn postgres://localhost/postgres

Exit codes: 0 every group restored and checked; 5 a drill failed.",
    ),
    (
        "wal",
        "\
Examples:
  archive_command = 'cairn wal push %p'
  restore_command = 'cairn wal fetch %f %p'
  cairn wal status --max-age 15m

Exit codes: 0; 1 not archived (fetch); 5 drill failed; 6 stale or gap (status).",
    ),
];

/// The examples of `name`, if it has some.
pub fn examples(name: &str) -> Option<&'static str> {
    COMMANDS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
