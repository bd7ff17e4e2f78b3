//! A plan: a platform's components in backup order, with hooks, retention,
//! expected intervals and the restore order. Built in code or read from a
//! file ([`crate::parse`]); both run the same way.

use crate::component::Component;
use cairn::{Error, Result, RetentionPolicy};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A whole platform.
#[derive(Clone)]
#[non_exhaustive]
pub struct Plan {
    /// Name; snapshots record it, and run records are kept under it.
    pub name: String,
    /// Repository location (a directory or `s3://...`); `None`: the caller
    /// decides.
    pub repository: Option<String>,
    /// Where the repository's key comes from.
    pub key: KeySource,
    /// Host name recorded in every snapshot (default: this machine's).
    pub host: Option<String>,
    /// Tags added to every snapshot.
    pub tags: Vec<String>,
    /// Expected time between good backups, for components without their own.
    pub interval: Option<Duration>,
    /// The cold window: `pre` pauses processing, `post` resumes it.
    pub hooks: Hooks,
    /// Components, in backup order.
    pub components: Vec<PlanComponent>,
    /// How to restore.
    pub restore: RestorePlan,
    /// Where run records are kept (default: `$CAIRN_STATE_DIR`, else
    /// `$XDG_STATE_HOME/cairn`, else `~/.local/state/cairn`).
    pub state_dir: Option<PathBuf>,
}

/// Where a plan's repository key comes from (all `None`: the caller's
/// default, for the CLI `CAIRN_PASSWORD_FILE` and friends).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeySource {
    /// A file holding the password.
    pub password_file: Option<PathBuf>,
    /// A command that prints the password.
    pub password_command: Option<String>,
    /// A key file.
    pub key_file: Option<PathBuf>,
}

/// One component of a plan.
#[derive(Clone)]
#[non_exhaustive]
pub struct PlanComponent {
    /// Name, unique in the plan.
    pub name: String,
    /// The source.
    pub component: Arc<dyn Component>,
    /// Retention.
    pub keep: Keep,
    /// Expected time between good backups (default: the plan's).
    pub interval: Option<Duration>,
    /// Hooks around this component's backup.
    pub hooks: Hooks,
    /// Components whose snapshot must be newer than this one's in any set
    /// that is restored together (seed 003: the database is older than
    /// the files).
    pub older_than: Vec<String>,
    /// Tags added to this component's snapshots.
    pub tags: Vec<String>,
}

/// How long a component's snapshots are kept.
#[derive(Clone, Debug, Default)]
pub enum Keep {
    /// No rule: `plan forget` keeps everything and says so.
    #[default]
    Unset,
    /// Never removed.
    Forever,
    /// restic's rules, applied to this component's snapshots alone.
    Policy(Box<RetentionPolicy>),
}

/// A shell command run before or after something.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hook {
    /// Run with `sh -c`.
    pub command: String,
    /// Killed (its whole process group) after this long.
    pub timeout: Duration,
}

/// Default hook timeout.
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(600);

impl Hook {
    /// A hook with the default timeout (10 minutes).
    pub fn new(command: impl Into<String>) -> Hook {
        Hook {
            command: command.into(),
            timeout: DEFAULT_HOOK_TIMEOUT,
        }
    }
}

/// A `pre` and a `post` hook. `post` runs whenever `pre` was started,
/// whatever happened after (see docs/plans.md).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hooks {
    /// Before.
    pub pre: Option<Hook>,
    /// After, always once `pre` was started.
    pub post: Option<Hook>,
}

/// How a plan is restored.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RestorePlan {
    /// Component names in restore order (default: the backup order).
    pub order: Vec<String>,
    /// Manual checks after a restore, printed in order.
    pub checklist: Vec<String>,
    /// Around the whole restore (stop the application, start it again).
    pub hooks: Hooks,
}

impl Plan {
    /// An empty plan.
    pub fn new(name: impl Into<String>) -> Plan {
        Plan {
            name: name.into(),
            repository: None,
            key: KeySource::default(),
            host: None,
            tags: Vec::new(),
            interval: None,
            hooks: Hooks::default(),
            components: Vec::new(),
            restore: RestorePlan::default(),
            state_dir: None,
        }
    }

    /// Appends a component (backup order is the order of calls).
    pub fn component(mut self, c: PlanComponent) -> Plan {
        self.components.push(c);
        self
    }

    /// Sets the cold-window hooks.
    pub fn hooks(mut self, hooks: Hooks) -> Plan {
        self.hooks = hooks;
        self
    }

    /// Sets the restore order, checklist and hooks.
    pub fn restore(mut self, r: RestorePlan) -> Plan {
        self.restore = r;
        self
    }

    /// Sets the repository location.
    pub fn repository(mut self, location: impl Into<String>) -> Plan {
        self.repository = Some(location.into());
        self
    }

    /// Sets the default expected interval.
    pub fn interval(mut self, d: Duration) -> Plan {
        self.interval = Some(d);
        self
    }

    /// Sets the run-record directory.
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Plan {
        self.state_dir = Some(dir.into());
        self
    }

    /// The component of this name.
    pub fn find(&self, name: &str) -> Result<&PlanComponent> {
        self.components
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "plan {} has no component {name:?} (it has: {})",
                    self.name,
                    self.names().join(", ")
                ))
            })
    }

    /// Component names in backup order.
    pub fn names(&self) -> Vec<&str> {
        self.components.iter().map(|c| c.name.as_str()).collect()
    }

    /// Components in restore order.
    pub fn restore_order(&self) -> Result<Vec<&PlanComponent>> {
        if self.restore.order.is_empty() {
            return Ok(self.components.iter().collect());
        }
        self.restore.order.iter().map(|n| self.find(n)).collect()
    }

    /// Checks names, references and the restore order; every plan is
    /// validated before it runs, whether it was read or built in code.
    pub fn validate(&self) -> Result<()> {
        check_name("plan", &self.name)?;
        if self.components.is_empty() {
            return Err(Error::invalid(format!(
                "plan {} has no components",
                self.name
            )));
        }
        for (i, c) in self.components.iter().enumerate() {
            check_name("component", &c.name)?;
            if self.components[..i].iter().any(|o| o.name == c.name) {
                return Err(Error::invalid(format!(
                    "plan {}: component {:?} is named twice",
                    self.name, c.name
                )));
            }
            for o in &c.older_than {
                self.find(o)?;
                let later = self.components[..i].iter().any(|p| &p.name == o);
                if o == &c.name || later {
                    return Err(Error::invalid(format!(
                        "plan {}: component {:?} must be older than {o:?}, so it must come before it in the backup order",
                        self.name, c.name
                    )));
                }
            }
        }
        let order = &self.restore.order;
        if !order.is_empty() {
            for n in order {
                self.find(n)?;
            }
            for c in &self.components {
                let times = order.iter().filter(|n| **n == c.name).count();
                if times != 1 {
                    return Err(Error::invalid(format!(
                        "plan {}: the restore order must name component {:?} exactly once (it does {times} times)",
                        self.name, c.name
                    )));
                }
            }
        }
        Ok(())
    }

    /// The expected interval of a component (its own, else the plan's).
    pub fn interval_of(&self, c: &PlanComponent) -> Option<Duration> {
        c.interval.or(self.interval)
    }
}

impl PlanComponent {
    /// A component with no retention rule, hooks or ordering constraint.
    pub fn new(name: impl Into<String>, component: Arc<dyn Component>) -> PlanComponent {
        PlanComponent {
            name: name.into(),
            component,
            keep: Keep::Unset,
            interval: None,
            hooks: Hooks::default(),
            older_than: Vec::new(),
            tags: Vec::new(),
        }
    }

    /// Sets retention.
    pub fn keep(mut self, keep: Keep) -> PlanComponent {
        self.keep = keep;
        self
    }

    /// Sets the expected interval.
    pub fn interval(mut self, d: Duration) -> PlanComponent {
        self.interval = Some(d);
        self
    }

    /// Sets the hooks around this component.
    pub fn hooks(mut self, hooks: Hooks) -> PlanComponent {
        self.hooks = hooks;
        self
    }

    /// Requires this component's snapshot to be older than these.
    pub fn older_than(mut self, names: Vec<String>) -> PlanComponent {
        self.older_than = names;
        self
    }
}

/// Names go into run records' paths and snapshot facts: letters, digits,
/// `-`, `_` and `.`, not starting with `.`.
pub fn check_name(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "bad {what} name {name:?}: use 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'"
        )))
    }
}

/// Parses `90s`, `10m`, `26h`, `7d`, `2w` (one or more parts: `1h30m`).
pub fn parse_interval(s: &str) -> Result<Duration> {
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num
            .parse()
            .map_err(|_| Error::invalid(format!("bad duration {s:?}: like 90s, 10m, 26h, 7d")))?;
        num.clear();
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            'w' => 7 * 86400,
            _ => {
                return Err(Error::invalid(format!(
                    "bad duration {s:?}: units are s, m, h, d, w"
                )))
            }
        };
        total = total.saturating_add(n.saturating_mul(unit));
    }
    if !num.is_empty() || total == 0 {
        return Err(Error::invalid(format!(
            "bad duration {s:?}: like 90s, 10m, 26h, 7d"
        )));
    }
    Ok(Duration::from_secs(total))
}

/// Formats a duration as the largest units (`1d 2h`, `5m 3s`).
pub fn format_interval(d: Duration) -> String {
    let s = d.as_secs();
    let parts = [(86400, "d"), (3600, "h"), (60, "m"), (1, "s")];
    let mut out = Vec::new();
    let mut rest = s;
    for (unit, name) in parts {
        if rest >= unit {
            out.push(format!("{}{name}", rest / unit));
            rest %= unit;
        }
        if out.len() == 2 {
            break;
        }
    }
    if out.is_empty() {
        "0s".into()
    } else {
        out.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_and_format() {
        assert_eq!(parse_interval("26h").expect("26h").as_secs(), 26 * 3600);
        assert_eq!(parse_interval("1h30m").expect("1h30m").as_secs(), 5400);
        assert!(parse_interval("5").is_err());
        assert!(parse_interval("3y").is_err());
        assert!(parse_interval("0s").is_err());
        assert_eq!(format_interval(Duration::from_secs(93784)), "1d 2h");
        assert_eq!(format_interval(Duration::from_secs(3)), "3s");
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("plan", "acme-prod_1.x").is_ok());
        for bad in ["", ".hidden", "a/b", "a b", &"x".repeat(65)] {
            assert!(check_name("plan", bad).is_err(), "{bad:?}");
        }
    }
}
