//! Running hooks: `sh -c` in their own process group, with a timeout that
//! kills the whole group, their output on our stderr (stdout stays clean
//! for `--json`).

use crate::model::{format_interval, Hook};
use cairn::{Error, Result};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What a hook is told through its environment.
#[derive(Clone, Debug, Default)]
pub struct HookEnv {
    /// `CAIRN_PLAN`.
    pub plan: String,
    /// `CAIRN_RUN_ID`.
    pub run: String,
    /// `CAIRN_COMPONENT` (empty for plan hooks).
    pub component: String,
    /// `CAIRN_HOOK`: `pre`, `post`, `restore-pre`, `restore-post`.
    pub phase: String,
    /// `CAIRN_RUN_STATUS` for post hooks: `ok`, `failed` or `interrupted`.
    pub status: String,
}

fn kill_group(child: &Child) {
    // The hook leads its own process group: this reaches what it started.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
}

fn stderr_copy() -> Stdio {
    std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map(Stdio::from)
        .unwrap_or_else(|_| Stdio::null())
}

/// Runs a hook to its end. It fails when the command exits non-zero or is
/// killed, when it outlives its timeout (its process group is killed), and,
/// when `stop` is given, when the operator asks to stop (the group is killed
/// too). A `post` hook is given no `stop`: it always runs to its end.
pub fn run_hook(hook: &Hook, env: &HookEnv, stop: Option<&AtomicBool>) -> Result<()> {
    let what = format!("{} hook `{}`", env.phase, hook.command);
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&hook.command)
        .env("CAIRN_PLAN", &env.plan)
        .env("CAIRN_RUN_ID", &env.run)
        .env("CAIRN_COMPONENT", &env.component)
        .env("CAIRN_HOOK", &env.phase)
        .env("CAIRN_RUN_STATUS", &env.status)
        .stdin(Stdio::null())
        .stdout(stderr_copy())
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()
        .map_err(|e| Error::Source {
            name: what.clone(),
            detail: format!("cannot start sh: {e}"),
        })?;
    let started = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                return Err(Error::Source {
                    name: what,
                    detail: format!("failed: {status}"),
                })
            }
            Ok(None) => {}
            Err(e) => {
                return Err(Error::Source {
                    name: what,
                    detail: e.to_string(),
                })
            }
        }
        if started.elapsed() >= hook.timeout {
            kill_group(&child);
            let _ = child.wait();
            return Err(Error::Source {
                name: what,
                detail: format!(
                    "timed out after {} and was killed",
                    format_interval(hook.timeout)
                ),
            });
        }
        if stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
            kill_group(&child);
            let _ = child.wait();
            return Err(Error::Interrupted(format!("{what} was stopped")));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(cmd: &str, ms: u64) -> Hook {
        Hook {
            command: cmd.into(),
            timeout: Duration::from_millis(ms),
        }
    }

    #[test]
    fn hooks_succeed_fail_and_time_out() {
        let env = HookEnv {
            phase: "pre".into(),
            plan: "p".into(),
            ..Default::default()
        };
        run_hook(&hook("test \"$CAIRN_PLAN\" = p", 10_000), &env, None).expect("ok");
        let e = run_hook(&hook("exit 3", 10_000), &env, None).expect_err("fails");
        assert!(e.to_string().contains("exit status: 3"), "{e}");
        let dir = tempfile::tempdir().expect("tmp");
        let marker = dir.path().join("child-survived");
        // The hook's background child is in its group and dies with it.
        let cmd = format!("(sleep 1; touch {}) & sleep 30", marker.display());
        let t = Instant::now();
        let e = run_hook(&hook(&cmd, 200), &env, None).expect_err("times out");
        assert!(e.to_string().contains("timed out"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(1500));
        assert!(!marker.exists(), "the hook's process group was not killed");
    }

    #[test]
    fn a_stop_request_kills_an_interruptible_hook() {
        let stop = AtomicBool::new(true);
        let e = run_hook(&hook("sleep 30", 60_000), &HookEnv::default(), Some(&stop))
            .expect_err("stopped");
        assert!(matches!(e, Error::Interrupted(_)), "{e}");
    }
}
