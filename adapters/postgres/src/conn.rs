//! Connection parameters: a DSN or the standard `PG*` environment.

use std::process::Command;

/// How to reach the server.
#[derive(Clone, Default)]
pub struct PgConn {
    /// `postgres://user:pass@host:port/db?opts` or `key=value ...`;
    /// `None` uses the `PG*` environment variables.
    pub dsn: Option<String>,
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgConn({})", self.redacted())
    }
}

/// A DSN split into its password and the rest.
struct Parsed {
    uri: Option<UriParts>,
    kv: Vec<(String, String)>,
    password: Option<String>,
}

struct UriParts {
    scheme_auth: String,
    hostport: String,
    db: String,
    query: String,
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_uri(dsn: &str) -> Option<Parsed> {
    let (scheme, rest) = dsn.split_once("://")?;
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, db) = before_query.split_once('/').unwrap_or((before_query, ""));
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (user, password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((user, pass)) => (Some(user), Some(percent_decode(pass))),
            None => (Some(u), None),
        },
        None => (None, None),
    };
    let scheme_auth = match user {
        Some(u) => format!("{scheme}://{u}@"),
        None => format!("{scheme}://"),
    };
    Some(Parsed {
        uri: Some(UriParts {
            scheme_auth,
            hostport: hostport.to_string(),
            db: db.to_string(),
            query: query.to_string(),
        }),
        kv: Vec::new(),
        password,
    })
}

/// Splits `key=value key='quoted value'` connection strings.
fn parse_kv(dsn: &str) -> Parsed {
    let mut kv = Vec::new();
    let mut password = None;
    let mut chars = dsn.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars
            .by_ref()
            .take_while(|c| *c != '=')
            .collect::<String>()
            .trim()
            .to_string();
        if key.is_empty() {
            break;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '\'' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        if key == "password" {
            password = Some(value);
        } else {
            kv.push((key, value));
        }
    }
    Parsed {
        uri: None,
        kv,
        password,
    }
}

fn quote_kv(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl Parsed {
    fn render(&self, db: Option<&str>) -> String {
        match &self.uri {
            Some(u) => {
                let db = db.map(str::to_string).unwrap_or_else(|| u.db.clone());
                let q = if u.query.is_empty() {
                    String::new()
                } else {
                    format!("?{}", u.query)
                };
                format!("{}{}/{}{}", u.scheme_auth, u.hostport, db, q)
            }
            None => {
                let mut parts: Vec<String> = self
                    .kv
                    .iter()
                    .filter(|(k, _)| !(db.is_some() && k == "dbname"))
                    .map(|(k, v)| format!("{k}={}", quote_kv(v)))
                    .collect();
                if let Some(d) = db {
                    parts.push(format!("dbname={}", quote_kv(d)));
                }
                parts.join(" ")
            }
        }
    }

    fn db(&self) -> Option<String> {
        match &self.uri {
            Some(u) if !u.db.is_empty() => Some(percent_decode(&u.db)),
            Some(_) => None,
            None => self
                .kv
                .iter()
                .find(|(k, _)| k == "dbname")
                .map(|(_, v)| v.clone()),
        }
    }
}

impl PgConn {
    /// From a DSN, or the environment when `None`.
    pub fn new(dsn: Option<String>) -> Self {
        PgConn { dsn }
    }

    fn parsed(&self) -> Option<Parsed> {
        let dsn = self.dsn.as_deref()?;
        Some(if dsn.contains("://") {
            parse_uri(dsn).unwrap_or_else(|| parse_kv(dsn))
        } else {
            parse_kv(dsn)
        })
    }

    /// The DSN with any password removed (safe to log or record).
    pub fn redacted(&self) -> String {
        match self.parsed() {
            Some(p) => p.render(None),
            None => "(PG* environment)".to_string(),
        }
    }

    /// The database named in the DSN or `PGDATABASE`, if any.
    pub fn default_db(&self) -> Option<String> {
        match self.parsed() {
            Some(p) => p.db(),
            None => std::env::var("PGDATABASE").ok().filter(|s| !s.is_empty()),
        }
    }

    /// A command for `tool` connected to `db` (or the DSN's database):
    /// `--dbname` carries the DSN without its password; the password, if
    /// any, goes into the child's `PGPASSWORD`.
    pub fn command(&self, tool: &std::path::Path, db: Option<&str>) -> Command {
        let mut cmd = Command::new(tool);
        match self.parsed() {
            Some(p) => {
                cmd.arg(format!("--dbname={}", p.render(db)));
                if let Some(pw) = p.password {
                    cmd.env("PGPASSWORD", pw);
                }
            }
            None => {
                // A connection string, not a bare name: pg_dumpall reads
                // --dbname only as one.
                if let Some(d) = db {
                    let quoted = d.replace('\\', "\\\\").replace('\'', "\\'");
                    cmd.arg(format!("--dbname=dbname='{quoted}'"));
                }
            }
        }
        cmd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(c: &Command) -> Vec<String> {
        c.get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    fn env(c: &Command, k: &str) -> Option<String> {
        c.get_envs()
            .find(|(n, _)| *n == k)
            .and_then(|(_, v)| v.map(|v| v.to_string_lossy().into_owned()))
    }

    #[test]
    fn uri_password_moves_to_the_environment() {
        let c = PgConn::new(Some(
            "postgres://app:s%40cret@db.example:5433/shop?sslmode=require".into(),
        ));
        let cmd = c.command(std::path::Path::new("pg_dump"), Some("other"));
        assert_eq!(
            args(&cmd),
            vec!["--dbname=postgres://app@db.example:5433/other?sslmode=require"]
        );
        assert_eq!(env(&cmd, "PGPASSWORD").as_deref(), Some("s@cret"));
        assert!(!c.redacted().contains("cret"));
        assert_eq!(c.default_db().as_deref(), Some("shop"));
    }

    #[test]
    fn key_value_password_moves_to_the_environment() {
        let c = PgConn::new(Some(
            "host=/tmp port=5432 password='p w' dbname=shop user=app".into(),
        ));
        let cmd = c.command(std::path::Path::new("psql"), None);
        assert_eq!(
            args(&cmd),
            vec!["--dbname=host='/tmp' port='5432' dbname='shop' user='app'"]
        );
        assert_eq!(env(&cmd, "PGPASSWORD").as_deref(), Some("p w"));
        let cmd = c.command(std::path::Path::new("psql"), Some("x"));
        assert!(args(&cmd)[0].ends_with("dbname='x'") && !args(&cmd)[0].contains("shop"));
    }

    #[test]
    fn environment_only() {
        let c = PgConn::new(None);
        let cmd = c.command(std::path::Path::new("pg_dump"), Some("app"));
        assert_eq!(args(&cmd), vec!["--dbname=dbname='app'"]);
        let cmd = c.command(std::path::Path::new("pg_dumpall"), Some("it's"));
        assert_eq!(args(&cmd), vec![r"--dbname=dbname='it\'s'"]);
        assert!(env(&cmd, "PGPASSWORD").is_none());
    }
}
