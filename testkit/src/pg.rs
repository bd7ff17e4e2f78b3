//! A throwaway PostgreSQL cluster for tests: `initdb` and `pg_ctl` in a
//! temp dir. It listens on a Unix socket in that dir (trust
//! authentication, user `postgres`) and on 127.0.0.1 at a free port
//! (SCRAM passwords), so tests can exercise password errors. As root, the
//! server runs as the `postgres` user. It is stopped when dropped, even
//! when the test fails.

use std::path::PathBuf;
use std::process::Command;

/// A running cluster.
pub struct Pg {
    _dir: tempfile::TempDir,
    pub bin: PathBuf,
    pub data: PathBuf,
    pub socket_dir: PathBuf,
    pub port: u16,
    as_postgres: bool,
}

fn pg_bin() -> PathBuf {
    let candidates = std::env::var_os("CAIRN_PG_BIN")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from("/usr/lib/postgresql/15/bin")]);
    for c in candidates {
        if c.join("initdb").exists() && c.join("pg_ctl").exists() {
            return c;
        }
    }
    panic!(
        "PostgreSQL 15 server binaries (initdb, pg_ctl) not found. Run the suite with scripts/test, \
         which installs Debian's postgresql package, or set CAIRN_PG_BIN to their directory."
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

impl Pg {
    /// Starts a new cluster; panics with install instructions when the
    /// server binaries are missing.
    pub fn start() -> Pg {
        Pg::start_with("")
    }

    /// [`Pg::start`] with more server options (`-c archive_mode=on ...`).
    pub fn start_with(extra_opts: &str) -> Pg {
        let bin = pg_bin();
        let dir = tempfile::Builder::new()
            .prefix("cairn-pg")
            .tempdir()
            .expect("tmp");
        let (data, socket_dir) = (dir.path().join("data"), dir.path().join("sock"));
        std::fs::create_dir_all(&socket_dir).expect("mkdir");
        let as_postgres = is_root();
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(
                ok.success(),
                "chown to postgres failed; does the postgres user exist? (scripts/test creates it)"
            );
        }
        let pg = Pg {
            _dir: dir,
            bin,
            data,
            socket_dir,
            port: crate::free_port(),
            as_postgres,
        };
        pg.server_cmd(
            "initdb",
            &[
                "-D",
                pg.data.to_str().expect("utf8"),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off {extra_opts}",
            pg.port,
            pg.socket_dir.display()
        );
        let log = pg.data.parent().expect("parent").join("server.log");
        pg.server_cmd(
            "pg_ctl",
            &[
                "-D",
                pg.data.to_str().expect("utf8"),
                "-o",
                &opts,
                "-l",
                log.to_str().expect("utf8"),
                "-w",
                "start",
            ],
        );
        pg
    }

    /// A command that runs as the server's user (through `runuser` when
    /// the tests run as root), so that what it writes the server can read
    /// and the other way round.
    pub fn as_server_user(&self, program: &std::path::Path) -> Command {
        match self.as_postgres {
            true => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(program);
                c
            }
            false => Command::new(program),
        }
    }

    /// A directory the server's user owns (created if missing).
    pub fn owned_dir(&self, path: &std::path::Path) {
        std::fs::create_dir_all(path).expect("mkdir");
        if self.as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(path)
                .status()
                .expect("chown");
            assert!(ok.success(), "chown {} failed", path.display());
        }
    }

    /// A DSN for a TCP connection with a password.
    pub fn tcp_dsn(&self, user: &str, password: &str, db: &str) -> String {
        format!("postgres://{user}:{password}@127.0.0.1:{}/{db}", self.port)
    }

    /// Path of a client tool (`pg_dump`, `psql`, ...).
    pub fn tool(&self, name: &str) -> PathBuf {
        self.bin.join(name)
    }

    fn server_cmd(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let out = if self.as_postgres {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&exe)
                .args(args)
                .output()
        } else {
            Command::new(&exe).args(args).output()
        }
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()));
        assert!(
            out.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Points a client command at this server.
    pub fn env(&self, cmd: &mut Command) {
        cmd.env("PGHOST", &self.socket_dir)
            .env("PGPORT", self.port.to_string())
            .env("PGUSER", "postgres");
    }

    /// Runs an SQL script with psql (statements one by one, as a file
    /// would be, so `CREATE DATABASE` and `\gexec` work), failing the test
    /// on the first error. Returns unaligned, tab-separated output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        use std::io::Write;
        let mut c = Command::new(self.bin.join("psql"));
        c.args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-F",
            "\t",
            "-d",
            db,
        ]);
        self.env(&mut c);
        c.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().expect("psql");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(sql.as_bytes())
            .expect("write sql");
        let out = child.wait_with_output().expect("psql");
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let d = self.data.to_str().unwrap_or_default().to_string();
        let exe = self.bin.join("pg_ctl");
        let _ = if self.as_postgres {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&exe)
                .args(["-D", &d, "-m", "immediate", "stop"])
                .output()
        } else {
            Command::new(&exe)
                .args(["-D", &d, "-m", "immediate", "stop"])
                .output()
        };
    }
}
