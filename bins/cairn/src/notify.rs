//! Monitoring output of the CLI: metrics files and notifications.

use crate::cli::Global;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Tries per webhook, and the time each may take.
const TRIES: u32 = 3;
const TRY_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends `event` (with `event` and `ok` fields) to the configured webhook
/// and command, when `--notify-on` says so. Failures are warnings: a
/// notification never changes a command's outcome.
pub fn notify(g: &Global, kind: &str, ok: bool, mut event: serde_json::Value) {
    if ok && g.notify_on != "always" {
        return;
    }
    event["event"] = kind.into();
    event["ok"] = ok.into();
    event["time"] = cairn::format_time(cairn::now_ns()).into();
    event["host"] = cairn::hostname().into();
    let body = event.to_string();
    if let Some(url) = &g.notify_url {
        if let Err(e) = post(url, &body) {
            crate::err!("cairn: warning: notification to {url} failed: {e}");
        }
    }
    if let Some(cmd) = &g.notify_command {
        if let Err(e) = run_command(cmd, kind, ok, &body) {
            crate::err!("cairn: warning: notify command failed: {e}");
        }
    }
}

fn run_command(cmd: &str, kind: &str, ok: bool, body: &str) -> Result<(), String> {
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .env("CAIRN_EVENT", kind)
        .env("CAIRN_EVENT_OK", if ok { "1" } else { "0" })
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(body.as_bytes());
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(status.to_string())
    }
}

/// POSTs with retries: 3 tries, 10 s each, 1 s and 2 s apart; a 2xx
/// answer is success.
fn post(url: &str, body: &str) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 1..=TRIES {
        match post_once(url, body) {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
        if attempt < TRIES {
            crate::err!(
                "cairn: warning: notification try {attempt} of {TRIES} failed: {last}; retrying"
            );
            std::thread::sleep(Duration::from_secs(u64::from(attempt)));
        }
    }
    Err(format!("gave up after {TRIES} tries: {last}"))
}

fn post_once(url: &str, body: &str) -> Result<(), String> {
    if url.starts_with("https://") {
        return post_tls(url, body);
    }
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url:?} is not an http:// or https:// URL"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let sock = std::net::ToSocketAddrs::to_socket_addrs(&addr)
        .map_err(|e| format!("{addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("{addr}: no address"))?;
    let mut s = TcpStream::connect_timeout(&sock, TRY_TIMEOUT).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(TRY_TIMEOUT))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(TRY_TIMEOUT))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: cairn/{}\r\n\r\n{body}",
        body.len(),
        env!("CARGO_PKG_VERSION")
    )
    .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    let _ = s.take(64 * 1024).read_to_end(&mut answer);
    let head = String::from_utf8_lossy(&answer);
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status.starts_with('2') {
        Ok(())
    } else if status.is_empty() {
        Err("no answer".into())
    } else {
        Err(format!("HTTP {status}"))
    }
}

/// An https:// POST (rustls, certificates from the system's trust store or
/// `SSL_CERT_FILE`); a 2xx answer is success.
#[cfg(feature = "https")]
fn post_tls(url: &str, body: &str) -> Result<(), String> {
    let client = reqwest::blocking::Client::builder()
        .timeout(TRY_TIMEOUT)
        .user_agent(concat!("cairn/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| chain(&e))?;
    let answer = client
        .post(url)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .map_err(|e| chain(&e))?;
    match answer.status() {
        s if s.is_success() => Ok(()),
        s => Err(format!("HTTP {}", s.as_u16())),
    }
}

/// An error with its causes ("error sending request: ...: invalid peer
/// certificate: UnknownIssuer").
#[cfg(feature = "https")]
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        text.push_str(&format!(": {s}"));
        src = s.source();
    }
    text
}

#[cfg(not(feature = "https"))]
fn post_tls(_url: &str, _body: &str) -> Result<(), String> {
    Err("this cairn was built without the `https` feature; use an http:// URL or --notify-command with curl".into())
}

/// Writes a plan's metrics file when `--metrics-dir` is set (a failure is
/// a warning).
pub fn plan_metrics(g: &Global, repo: &cairn::Repository, plan: &cairn_plan::Plan) {
    let Some(dir) = &g.metrics_dir else {
        return;
    };
    let write = || -> cairn::Result<std::path::PathBuf> {
        let st = cairn_plan::plan_status(repo, plan, cairn::now_ns())?;
        let state = match &plan.state_dir {
            Some(d) => d.clone(),
            None => cairn_plan::default_state_dir()?,
        };
        let text = cairn_plan::plan_metrics(
            repo,
            plan,
            &st,
            &cairn_plan::Journal::new(&state, &plan.name),
        )?;
        cairn_plan::write_textfile(dir, &cairn_plan::file_name("cairn_plan", &plan.name), &text)
    };
    if let Err(e) = write() {
        crate::err!(
            "cairn: warning: cannot write metrics into {}: {e}",
            dir.display()
        );
    }
}

/// Writes a repository-level metrics file (`what`: `backup` or `check`)
/// when `--metrics-dir` is set.
pub fn repo_metrics(g: &Global, what: &str, gauges: &[(&str, &str, f64)]) {
    let Some(dir) = &g.metrics_dir else {
        return;
    };
    let loc = crate::context::location(g)
        .map(|(l, _)| l)
        .unwrap_or_default();
    let mut m = cairn_plan::Metrics::default();
    for (name, help, v) in gauges {
        m.gauge(name, help, &[("repository", &loc)], *v);
    }
    let name = cairn_plan::file_name(&format!("cairn_{what}"), &loc);
    if let Err(e) = cairn_plan::write_textfile(dir, &name, m.text()) {
        crate::err!(
            "cairn: warning: cannot write metrics into {}: {e}",
            dir.display()
        );
    }
}
