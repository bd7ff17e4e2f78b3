//! A fault-injecting HTTP/1.1 proxy between a client and a real S3 server:
//! connection resets, stalls, truncated bodies, answers lost after the
//! server acted, and 500/503/SlowDown errors, in a seeded random sequence.
//!
//! It parses just enough HTTP for S3 traffic: request and response heads,
//! `Content-Length` and chunked bodies, `HEAD` without a body.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What happens to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Forwarded and answered normally.
    Pass,
    /// The connection is closed before the request is forwarded.
    Reset,
    /// Nothing is answered for `stall` (longer than the client's timeout),
    /// then the connection is closed.
    Stall,
    /// Forwarded (the server acts on it), then the connection is closed
    /// before the answer: the client cannot know it succeeded.
    LostAnswer,
    /// Forwarded; the answer's body is cut in half.
    Truncate,
    /// Answered `500 InternalError` without forwarding.
    Internal,
    /// Answered `503 ServiceUnavailable` without forwarding.
    Unavailable,
    /// Answered `503 SlowDown` without forwarding.
    SlowDown,
}

const FAULTS: [Fault; 7] = [
    Fault::Reset,
    Fault::Stall,
    Fault::LostAnswer,
    Fault::Truncate,
    Fault::Internal,
    Fault::Unavailable,
    Fault::SlowDown,
];

/// How often and how faults happen.
#[derive(Clone, Debug)]
pub struct FaultMix {
    /// Share of requests that fail (0..=1).
    pub probability: f64,
    /// Seed of the sequence.
    pub seed: u64,
    /// How long a stall lasts.
    pub stall: Duration,
}

struct Shared {
    upstream: String,
    mix: Mutex<FaultMix>,
    rng: Mutex<u64>,
    stop: AtomicBool,
    requests: AtomicU64,
    injected: Mutex<Vec<Fault>>,
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`, to use as the S3 endpoint.
    pub endpoint: String,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream`
    /// (`http://host:port`).
    pub fn start(upstream: &str, mix: FaultMix) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let shared = Arc::new(Shared {
            upstream: upstream.trim_start_matches("http://").to_string(),
            rng: Mutex::new(mix.seed | 1),
            mix: Mutex::new(mix),
            stop: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            injected: Mutex::new(Vec::new()),
        });
        let s = shared.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(c) = conn {
                    let s = s.clone();
                    std::thread::spawn(move || serve(&s, c));
                }
            }
        });
        FaultProxy {
            endpoint: format!("http://127.0.0.1:{port}"),
            shared,
        }
    }

    /// Changes the fault mix (e.g. to 0 for a clean phase).
    pub fn set_probability(&self, p: f64) {
        self.shared
            .mix
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .probability = p;
    }

    /// Requests seen so far.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// The faults injected so far, in order.
    pub fn injected(&self) -> Vec<Fault> {
        self.shared
            .injected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.endpoint.trim_start_matches("http://"));
    }
}

impl Shared {
    fn roll(&self) -> f64 {
        let mut s = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        (*s >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick(&self) -> Fault {
        let p = self
            .mix
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .probability;
        if self.roll() >= p {
            return Fault::Pass;
        }
        let f = FAULTS[(self.roll() * FAULTS.len() as f64) as usize % FAULTS.len()];
        self.injected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(f);
        f
    }

    fn stall(&self) -> Duration {
        self.mix.lock().unwrap_or_else(|e| e.into_inner()).stall
    }
}

/// One HTTP message: head lines and body.
struct Message {
    head: Vec<u8>,
    body: Vec<u8>,
    /// For requests: the method.
    method: String,
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Reads one message. `None` on a clean end of the connection.
fn read_message(r: &mut BufReader<TcpStream>, response_to: Option<&str>) -> Option<Message> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = r.read_until(b'\n', &mut line).ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&line);
        if line == b"\r\n" || line == b"\n" {
            break;
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let method = text.split(' ').next().unwrap_or("").to_string();
    let status_no_body = response_to == Some("HEAD")
        || text.starts_with("HTTP/1.1 204")
        || text.starts_with("HTTP/1.1 304");
    let mut body = Vec::new();
    if status_no_body {
    } else if header(&text, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).ok()?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).ok()?;
            let mut chunk = vec![0u8; n + 2];
            r.read_exact(&mut chunk).ok()?;
            body.extend_from_slice(&chunk[..n]);
            if n == 0 {
                break;
            }
        }
        // Re-frame as a plain body.
        let fixed: String = text
            .lines()
            .filter(|l| !l.to_ascii_lowercase().starts_with("transfer-encoding"))
            .filter(|l| !l.is_empty())
            .map(|l| format!("{l}\r\n"))
            .collect();
        head = format!("{fixed}Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    } else if let Some(n) = header(&text, "content-length").and_then(|v| v.parse::<usize>().ok()) {
        body = vec![0u8; n];
        r.read_exact(&mut body).ok()?;
    } else if response_to.is_some() && !text.starts_with("HTTP/1.1 1") {
        r.read_to_end(&mut body).ok()?;
    }
    Some(Message { head, body, method })
}

fn error_response(status: &str, code: &str) -> Vec<u8> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>\
         <Message>injected by the test proxy</Message></Error>"
    );
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn serve(s: &Shared, client: TcpStream) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(120)));
    let Ok(writer) = client.try_clone() else {
        return;
    };
    let mut writer = writer;
    let mut reader = BufReader::new(client);
    let mut upstream: Option<(TcpStream, BufReader<TcpStream>)> = None;
    while let Some(req) = read_message(&mut reader, None) {
        s.requests.fetch_add(1, Ordering::SeqCst);
        let fault = s.pick();
        let answer = match fault {
            Fault::Reset => return,
            Fault::Stall => {
                std::thread::sleep(s.stall());
                return;
            }
            Fault::Internal => error_response("500 Internal Server Error", "InternalError"),
            Fault::Unavailable => error_response("503 Service Unavailable", "ServiceUnavailable"),
            Fault::SlowDown => error_response("503 Slow Down", "SlowDown"),
            Fault::Pass | Fault::LostAnswer | Fault::Truncate => {
                let Some(resp) = forward(s, &mut upstream, &req) else {
                    return;
                };
                match fault {
                    Fault::LostAnswer => return,
                    Fault::Truncate if !resp.body.is_empty() => {
                        let mut out = resp.head.clone();
                        out.extend_from_slice(&resp.body[..resp.body.len() / 2]);
                        let _ = writer.write_all(&out);
                        return;
                    }
                    _ => {
                        let mut out = resp.head;
                        out.extend_from_slice(&resp.body);
                        out
                    }
                }
            }
        };
        if writer.write_all(&answer).is_err() {
            return;
        }
        if matches!(
            fault,
            Fault::Internal | Fault::Unavailable | Fault::SlowDown
        ) {
            return;
        }
    }
}

/// Sends a request upstream (reusing the connection) and reads the answer.
fn forward(
    s: &Shared,
    upstream: &mut Option<(TcpStream, BufReader<TcpStream>)>,
    req: &Message,
) -> Option<Message> {
    for _ in 0..2 {
        if upstream.is_none() {
            let c = TcpStream::connect(&s.upstream).ok()?;
            let r = BufReader::new(c.try_clone().ok()?);
            *upstream = Some((c, r));
        }
        let (w, r) = upstream.as_mut()?;
        let sent = w.write_all(&req.head).and_then(|()| w.write_all(&req.body));
        if sent.is_ok() {
            if let Some(m) = read_message(r, Some(&req.method)) {
                return Some(m);
            }
        }
        // The server closed a kept-alive connection: once more, fresh.
        *upstream = None;
    }
    None
}
