//! Session markers of running backups, with heartbeats.
//!
//! A backup writes a first marker (`seq` 0, named by the session id)
//! before it reads the deletion plans, then a new marker every heartbeat
//! (removing the previous heartbeat when it may delete), and removes its
//! markers (or, without delete rights, writes an `ended` marker) when it is
//! done. A marker promises the next one within `stale_after_secs`: a
//! pruner treats a session as running until that long after its newest
//! marker (storage clock), and as started when its first marker was
//! stored. So a backup of any length stays protected, and one that died
//! stops blocking sweeps `stale_after_secs` after its last heartbeat
//! instead of after a fixed guess.
//!
//! A backup that could not write a heartbeat for more than half of its own
//! `stale_after_secs` (a stalled storage, a suspended machine) may have been
//! taken for dead; it then refuses to store its snapshot if any deletion
//! plan appeared since it started (see [`SessionGuard::confirm_alive`]).

use crate::backend::{FileKind, ObjectInfo};
use crate::envelope::{self, EnvelopeKind};
use crate::error::{Error, Result};
use crate::id::random_bytes;
use crate::repo::Repository;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Version of the session structure (2 added `origin`, 3 the heartbeat
/// fields).
pub const SESSION_VERSION: u32 = 3;

/// Decrypted contents of `sessions/<id>` (version 3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Start time, writer's clock.
    pub started_ns: i64,
    /// Host of the backup.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// Boot id and pid namespace of the writer (Linux; empty elsewhere):
    /// with `host`, says whether `pid` can be looked up from here.
    pub origin: String,
    /// The session this marker belongs to: the name of its first marker.
    pub session: [u8; 32],
    /// 0 for the first marker, then one more per heartbeat.
    pub seq: u32,
    /// The writer stores its next marker within this many seconds; after
    /// that a pruner may treat the session as dead.
    pub stale_after_secs: u32,
    /// The session is over (written instead of deleting the markers when
    /// the writer may not delete).
    pub ended: bool,
}

/// Version 2 of the marker, still read.
#[derive(Deserialize)]
struct SessionV2 {
    started_ns: i64,
    host: String,
    pid: u32,
    origin: String,
}

/// This process's boot id and pid namespace, or empty when unknown.
pub fn origin() -> String {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id");
    let ns = std::fs::read_link("/proc/self/ns/pid");
    match (boot, ns) {
        (Ok(b), Ok(n)) => format!("{}/{}", b.trim(), n.display()),
        _ => String::new(),
    }
}

/// How often a backup proves it is alive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionOptions {
    /// Time between heartbeats.
    pub heartbeat: Duration,
    /// Promised to pruners: the next marker comes within this.
    pub stale_after: Duration,
}

impl Default for SessionOptions {
    /// A heartbeat a minute; dead after 15 minutes without one.
    fn default() -> Self {
        SessionOptions {
            heartbeat: Duration::from_secs(60),
            stale_after: Duration::from_secs(900),
        }
    }
}

impl SessionOptions {
    /// Heartbeats every `heartbeat`, dead after `stale_after` without one
    /// (whole seconds, at least 1; at least twice the heartbeat).
    pub fn new(heartbeat: Duration, stale_after: Duration) -> Result<Self> {
        let whole = stale_after.as_secs() >= 1 && stale_after.subsec_nanos() == 0;
        if !whole || stale_after < heartbeat * 2 || heartbeat.is_zero() {
            return Err(Error::invalid(format!(
                "session timeout {stale_after:?} must be whole seconds and at least twice \
                 the heartbeat {heartbeat:?}"
            )));
        }
        Ok(SessionOptions {
            heartbeat,
            stale_after,
        })
    }
}

impl Session {
    /// The first marker of a new session of this process.
    fn first(session: [u8; 32], opts: &SessionOptions) -> Self {
        Session {
            started_ns: crate::snapshot::now_ns(),
            host: crate::snapshot::hostname(),
            pid: std::process::id(),
            origin: origin(),
            session,
            seq: 0,
            stale_after_secs: opts.stale_after.as_secs().min(u64::from(u32::MAX)) as u32,
            ended: false,
        }
    }

    /// True only when the writer is known to be gone: it ran on this host,
    /// in this boot and pid namespace, and its pid no longer exists (a
    /// backup killed with SIGKILL). Anything uncertain counts as alive.
    pub fn is_dead_here(&self) -> bool {
        let here = origin();
        !here.is_empty()
            && self.origin == here
            && self.host == crate::snapshot::hostname()
            && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }

    /// Loads a session marker (version 2 or 3; a version-2 marker is read
    /// as the first marker of a session that promised nothing).
    pub fn load(repo: &Repository, name: &str) -> Result<Self> {
        repo.load(name)
    }

    /// Decodes a marker's bytes (version 2 or 3); `name` is its object
    /// name, the session id of a version-2 marker.
    pub fn decode(bytes: &[u8], meta_key: &[u8; 32], name: &str) -> Result<Self> {
        let what = format!("session {name}");
        let version = envelope::header_version(bytes, &what)?;
        if version == 2 {
            let v2: SessionV2 = envelope::open(EnvelopeKind::Session, 2, meta_key, bytes, &what)?;
            let mut session = [0u8; 32];
            hex::decode_to_slice(name, &mut session)
                .map_err(|_| Error::corrupt(&what, "name is not an id"))?;
            return Ok(Session {
                started_ns: v2.started_ns,
                host: v2.host,
                pid: v2.pid,
                origin: v2.origin,
                session,
                seq: 0,
                stale_after_secs: 0,
                ended: false,
            });
        }
        envelope::open(
            EnvelopeKind::Session,
            SESSION_VERSION,
            meta_key,
            bytes,
            &what,
        )
    }

    fn store(&self, repo: &Repository, name: &str) -> Result<()> {
        repo.save_as(name, self)
    }
}

/// What a pruner knows of one session from its markers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionState {
    /// Names of its markers.
    pub markers: Vec<String>,
    /// Storage time of its first marker; `i64::MIN` when that marker is
    /// missing (the session counts as older than everything).
    pub started_ns: i64,
    /// Storage time of its newest marker.
    pub last_ns: i64,
    /// Seconds after `last_ns` until it counts as dead; `None` when its
    /// markers promise nothing (unreadable, or version 2): the pruner's own
    /// stale limit applies.
    pub stale_after_secs: Option<u32>,
    /// It wrote its `ended` marker, or it is known to have been killed on
    /// this machine.
    pub over: bool,
    /// None of its markers could be read (damaged, or another key).
    pub unreadable: bool,
}

impl SessionState {
    /// True while the session may still be writing: not over, and its
    /// newest marker is younger than its promise (or `fallback_secs`).
    pub fn running(&self, now_ns: i64, fallback_secs: i64) -> bool {
        let limit = self
            .stale_after_secs
            .map_or(fallback_secs, i64::from)
            .saturating_mul(1_000_000_000);
        !self.over && now_ns.saturating_sub(self.last_ns) < limit
    }
}

/// Groups the markers in storage into sessions. A marker that cannot be
/// read is a session of its own that started when it was stored, so
/// damage can delay a sweep but never hasten one.
pub fn sessions(repo: &Repository) -> Result<Vec<SessionState>> {
    let listed = repo.backend().list_info(FileKind::Session)?;
    let mut groups: std::collections::BTreeMap<[u8; 32], Vec<(ObjectInfo, Session)>> =
        Default::default();
    let mut out = Vec::new();
    for info in listed {
        match Session::load(repo, &info.name) {
            Ok(s) => groups.entry(s.session).or_default().push((info, s)),
            Err(e) if e.is_not_found() => {}
            Err(e @ (Error::Corrupt { .. } | Error::UnsupportedVersion { .. })) => {
                tracing::warn!("{e}: counted as a running backup");
                out.push(SessionState {
                    markers: vec![info.name],
                    started_ns: info.modified_ns,
                    last_ns: info.modified_ns,
                    stale_after_secs: None,
                    over: false,
                    unreadable: true,
                });
            }
            Err(e) => return Err(e),
        }
    }
    for (_, markers) in groups {
        out.push(group_state(markers));
    }
    Ok(out)
}

fn group_state(mut markers: Vec<(ObjectInfo, Session)>) -> SessionState {
    markers.sort_by_key(|(i, s)| (s.seq, i.modified_ns));
    let first = markers.iter().find(|(_, s)| s.seq == 0);
    let started_ns = first.map_or(i64::MIN, |(i, _)| i.modified_ns);
    let newest = markers
        .iter()
        .max_by_key(|(i, s)| (i.modified_ns, s.seq))
        .map(|(_, s)| s);
    let promise = newest.map(|s| s.stale_after_secs).filter(|&secs| secs > 0);
    let over = markers.iter().any(|(_, s)| s.ended) || newest.is_some_and(Session::is_dead_here);
    SessionState {
        started_ns,
        last_ns: markers
            .iter()
            .map(|(i, _)| i.modified_ns)
            .max()
            .unwrap_or(0),
        stale_after_secs: promise,
        over,
        unreadable: false,
        markers: markers.into_iter().map(|(i, _)| i.name).collect(),
    }
}

/// Heartbeat bookkeeping shared with the heartbeat thread.
struct Beat {
    stop: bool,
    seq: u32,
    /// The newest heartbeat marker (not the first marker), to remove when
    /// the next one is stored.
    last_name: Option<String>,
    last_ok: (Instant, SystemTime),
    /// Longest time between two stored markers, by either clock.
    max_gap: Duration,
}

/// Writes a session's markers and heartbeats; removes them when dropped
/// (also when the backup fails).
pub struct SessionGuard {
    repo: Repository,
    id: [u8; 32],
    first: Session,
    opts: SessionOptions,
    /// Deletion plans seen when the session started.
    plans_at_start: std::collections::HashSet<String>,
    beat: Arc<(Mutex<Beat>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SessionGuard {
    /// Writes a new session's first marker with the default heartbeat.
    pub fn start(repo: &Repository) -> Result<Self> {
        Self::start_with(repo, SessionOptions::default())
    }

    /// Writes a new session's first marker and starts its heartbeat.
    pub fn start_with(repo: &Repository, opts: SessionOptions) -> Result<Self> {
        let id: [u8; 32] = random_bytes();
        let first = Session::first(id, &opts);
        first.store(repo, &hex::encode(id))?;
        let plans_at_start = repo
            .backend()
            .list(FileKind::Plan)?
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let beat = Arc::new((
            Mutex::new(Beat {
                stop: false,
                seq: 0,
                last_name: None,
                last_ok: (Instant::now(), SystemTime::now()),
                max_gap: Duration::ZERO,
            }),
            Condvar::new(),
        ));
        let mut guard = SessionGuard {
            repo: repo.clone(),
            id,
            first,
            opts,
            plans_at_start,
            beat,
            thread: None,
        };
        guard.thread = Some(guard.spawn_heartbeat()?);
        Ok(guard)
    }

    /// The session id (the name of its first marker).
    pub fn name(&self) -> String {
        hex::encode(self.id)
    }

    fn spawn_heartbeat(&self) -> Result<std::thread::JoinHandle<()>> {
        let (repo, first, opts, beat) = (
            self.repo.clone(),
            self.first.clone(),
            self.opts,
            self.beat.clone(),
        );
        std::thread::Builder::new()
            .name("cairn-heartbeat".into())
            .spawn(move || loop {
                {
                    let (lock, cv) = &*beat;
                    let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
                    let (guard, _) = cv
                        .wait_timeout_while(guard, opts.heartbeat, |b| !b.stop)
                        .unwrap_or_else(|p| p.into_inner());
                    if guard.stop {
                        return;
                    }
                }
                if let Err(e) = heartbeat(&repo, &first, &beat) {
                    tracing::warn!("backup session heartbeat failed (will retry): {e}");
                }
            })
            .map_err(|e| Error::io("heartbeat thread", e))
    }

    /// Stores a heartbeat now and checks that the session stayed
    /// protected: if it went without a stored marker for more than half its
    /// promised `stale_after` (so a pruner may have taken it for dead) and
    /// a deletion plan appeared since it started, the packs it relies on
    /// may be gone, and this fails. A backup calls it just before storing
    /// its snapshot.
    pub fn confirm_alive(&self) -> Result<()> {
        heartbeat(&self.repo, &self.first, &self.beat)?;
        let gap = self
            .beat
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .max_gap;
        if gap <= self.opts.stale_after / 2 {
            return Ok(());
        }
        let new_plans: Vec<String> = self
            .repo
            .backend()
            .list(FileKind::Plan)?
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| !self.plans_at_start.contains(n))
            .collect();
        if new_plans.is_empty() {
            tracing::warn!(
                "backup session went {gap:?} without a heartbeat, but no prune planned \
                 deletions meanwhile; continuing"
            );
            return Ok(());
        }
        Err(Error::SessionLost(format!(
            "this backup went {:.0} s without storing a heartbeat (it promised one within \
             {} s), and prune planned deletions meanwhile, so data it deduplicated against \
             may be gone; no snapshot was stored: run the backup again",
            gap.as_secs_f64(),
            self.opts.stale_after.as_secs()
        )))
    }

    /// Stops the heartbeat and removes the markers; where removing is not
    /// allowed, stores an `ended` marker instead.
    fn end(&mut self) {
        {
            let (lock, cv) = &*self.beat;
            lock.lock().unwrap_or_else(|p| p.into_inner()).stop = true;
            cv.notify_all();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let (last, seq) = {
            let b = self.beat.0.lock().unwrap_or_else(|p| p.into_inner());
            (b.last_name.clone(), b.seq)
        };
        let backend = self.repo.backend();
        let removed = last
            .iter()
            .chain(std::iter::once(&self.name()))
            .all(|n| backend.delete(FileKind::Session, n).is_ok());
        if !removed {
            let mut end = self.first.clone();
            end.seq = seq + 1;
            end.ended = true;
            if let Err(e) = end.store(&self.repo, &hex::encode(random_bytes::<32>())) {
                tracing::warn!("could not mark the backup session as ended: {e}");
            }
        }
    }
}

/// Stores the next heartbeat marker, then removes the previous one.
fn heartbeat(repo: &Repository, first: &Session, beat: &(Mutex<Beat>, Condvar)) -> Result<()> {
    let mut b = beat.0.lock().unwrap_or_else(|p| p.into_inner());
    let mut next = first.clone();
    next.seq = b.seq + 1;
    let name = hex::encode(random_bytes::<32>());
    next.store(repo, &name)?;
    let gap = b
        .last_ok
        .0
        .elapsed()
        .max(b.last_ok.1.elapsed().unwrap_or_default());
    b.max_gap = b.max_gap.max(gap);
    b.last_ok = (Instant::now(), SystemTime::now());
    b.seq = next.seq;
    if let Some(prev) = b.last_name.replace(name) {
        // Best effort: a stale heartbeat only makes the session look alive
        // a little longer.
        let _ = repo.backend().delete(FileKind::Session, &prev);
    }
    Ok(())
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::backup::test_repo;

    /// A version-2 marker (no heartbeat fields) is read as the first marker
    /// of a session that promises nothing, so the pruner's own stale limit
    /// applies to it.
    #[test]
    fn version_2_markers_are_read() {
        let repo = test_repo();
        let v2 = (5i64, "h".to_string(), 42u32, "o".to_string());
        let bytes = envelope::seal(EnvelopeKind::Session, 2, &repo.keys().meta, &v2);
        let name = "ab".repeat(32);
        repo.backend()
            .create(FileKind::Session, &name, bytes.into())
            .expect("create");
        let s = Session::load(&repo, &name).expect("loads");
        assert_eq!(
            (s.started_ns, s.pid, s.seq, s.stale_after_secs),
            (5, 42, 0, 0)
        );
        let states = sessions(&repo).expect("sessions");
        assert_eq!(states.len(), 1);
        assert_eq!(states[0].stale_after_secs, None);
        let now = states[0].last_ns;
        assert!(states[0].running(now + 10_000_000_000, 86_400));
        assert!(!states[0].running(now + 90_000 * 1_000_000_000, 86_400));
    }

    /// Heartbeats replace each other, the first marker stays, the session
    /// counts as started at its first marker, and dropping the guard
    /// removes everything.
    #[test]
    fn heartbeats_keep_the_start_and_refresh_the_end() {
        let repo = test_repo();
        let opts =
            SessionOptions::new(Duration::from_millis(50), Duration::from_secs(1)).expect("opts");
        let guard = SessionGuard::start_with(&repo, opts).expect("start");
        std::thread::sleep(Duration::from_millis(400));
        let states = sessions(&repo).expect("sessions");
        assert_eq!(states.len(), 1, "{states:?}");
        let st = &states[0];
        assert!(st.markers.contains(&guard.name()), "first marker kept");
        assert!(
            st.markers.len() <= 3,
            "old heartbeats removed: {:?}",
            st.markers
        );
        assert!(
            st.last_ns > st.started_ns,
            "a heartbeat came after the start"
        );
        assert_eq!(st.stale_after_secs, Some(1));
        guard.confirm_alive().expect("alive");
        drop(guard);
        assert!(sessions(&repo).expect("sessions").is_empty());
    }

    #[test]
    fn a_timeout_shorter_than_two_heartbeats_is_refused() {
        let e = SessionOptions::new(Duration::from_secs(10), Duration::from_secs(15));
        assert!(matches!(e, Err(Error::InvalidInput(_))));
    }
}
