//! Rendering engine progress counters: a bar on a terminal, JSON status
//! lines with --json, nothing otherwise.

use cairn::Progress;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A running progress display; stops when dropped.
pub struct Reporter {
    pub counters: Arc<Progress>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Bar,
    Json,
    Off,
}

impl Reporter {
    /// Starts a display for an operation named `what`.
    pub fn start(what: &'static str, json: bool, quiet: bool) -> Self {
        let mode = if quiet {
            Mode::Off
        } else if json {
            Mode::Json
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Off
        };
        let counters = Arc::new(Progress::default());
        if mode == Mode::Bar {
            counters.track_in_flight();
        }
        let stop = Arc::new(AtomicBool::new(false));
        let thread = (mode != Mode::Off).then(|| {
            let (c, s) = (counters.clone(), stop.clone());
            std::thread::spawn(move || render(what, mode, &c, &s))
        });
        Reporter {
            counters,
            stop,
            thread,
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn render(what: &str, mode: Mode, c: &Progress, stop: &AtomicBool) {
    let bar = ProgressBar::new(0);
    if mode == Mode::Bar {
        let style = ProgressStyle::with_template(
            "{prefix} [{elapsed_precise}] {percent:>3}% {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}\n{msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(what.to_string());
    }
    let mut tick = 0u32;
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
        tick += 1;
        let (bytes, total, files) = (
            Progress::get(&c.bytes),
            Progress::get(&c.total_bytes),
            Progress::get(&c.files),
        );
        match mode {
            Mode::Bar => {
                // Never 0: an empty length draws as 100% done.
                bar.set_length(total.max(bytes).max(1));
                bar.set_position(bytes);
                bar.set_message(bar_message(c));
            }
            Mode::Json if tick.is_multiple_of(10) => {
                let pct = if total > 0 {
                    bytes as f64 / total as f64
                } else {
                    0.0
                };
                crate::output::json(&serde_json::json!({
                    "message_type": "status", "operation": what, "files_done": files,
                    "total_files": Progress::get(&c.total_files), "bytes_done": bytes,
                    "total_bytes": total, "percent_done": pct,
                    "bytes_added": Progress::get(&c.bytes_added), "errors": Progress::get(&c.errors),
                }));
            }
            _ => {}
        }
    }
    bar.finish_and_clear();
}

/// The lines under the bar: files done of the total (marked while the
/// scan still counts), errors, bytes added, and the files being read.
fn bar_message(c: &Progress) -> String {
    let total = Progress::get(&c.total_files);
    let scanning = if c.totals_final.load(Ordering::Relaxed) {
        ""
    } else {
        " (counting)"
    };
    let mut msg = format!(
        "{} of {total}{scanning} files, {} errors, {} new",
        Progress::get(&c.files),
        Progress::get(&c.errors),
        crate::output::bytes(Progress::get(&c.bytes_added))
    );
    for f in c.in_flight(4) {
        msg.push_str("\n  ");
        msg.push_str(&crate::output::sanitize(&f));
    }
    msg
}

/// Counts the bytes and files under `paths` in the background with the
/// backup's own exclusion rules, so the bar can show a percentage and an
/// ETA; `totals_final` is set when the count is complete.
pub fn scan_totals(paths: Vec<std::path::PathBuf>, excludes: cairn::Excludes, c: Arc<Progress>) {
    std::thread::spawn(move || {
        let mut stack = paths;
        while let Some(p) = stack.pop() {
            let Ok(m) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if excludes.excludes(&p, &m) {
                continue;
            }
            if m.is_dir() {
                if let Ok(rd) = std::fs::read_dir(&p) {
                    stack.extend(rd.filter_map(|e| e.ok()).map(|e| e.path()));
                }
            } else if m.is_file() {
                Progress::add(&c.total_bytes, m.len());
                Progress::add(&c.total_files, 1);
            }
        }
        c.totals_final.store(true, Ordering::Relaxed);
    });
}
