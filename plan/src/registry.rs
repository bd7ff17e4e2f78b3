//! Component kinds by name: how a plan file's `kind = "..."` becomes a
//! [`Component`]. Each adapter registers one factory; the CLI adds one line
//! per adapter.

use crate::component::{Capture, CaptureCx, Component, Outcome, RestoreCx};
use crate::doc::Table;
use cairn::{Error, Result};
use std::sync::Arc;

/// Builds a component from its `settings` and `restore` tables. It takes
/// the keys it knows; the parser rejects the rest with their position.
pub type Factory = fn(settings: &mut Table, restore: &mut Table) -> Result<Arc<dyn Component>>;

/// Known component kinds.
#[derive(Clone, Default)]
pub struct Registry {
    kinds: Vec<(&'static str, Factory)>,
    planned: Vec<(&'static str, &'static str)>,
}

impl Registry {
    /// No kinds at all.
    pub fn empty() -> Registry {
        Registry::default()
    }

    /// The built-in kinds (`files`, `command`) and the kinds whose adapters
    /// are planned but not built (they parse, and refuse to run).
    pub fn builtin() -> Registry {
        Registry::empty()
            .register("files", crate::files::from_settings)
            .register("command", crate::command::from_settings)
            .planned("mongodb", "the MongoDB adapter (issue #21)")
            .planned("kubernetes", "the Kubernetes adapter (issue #23)")
    }

    /// Adds (or replaces) a kind.
    pub fn register(mut self, kind: &'static str, factory: Factory) -> Registry {
        self.kinds.retain(|(k, _)| *k != kind);
        self.planned.retain(|(k, _)| *k != kind);
        self.kinds.push((kind, factory));
        self
    }

    /// Adds a kind whose adapter does not exist yet: plans naming it parse
    /// and validate, and `plan run` refuses them with `what` in the message.
    pub fn planned(mut self, kind: &'static str, what: &'static str) -> Registry {
        if !self.kinds.iter().any(|(k, _)| *k == kind) {
            self.planned.push((kind, what));
        }
        self
    }

    /// Every kind name, built first.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.kinds
            .iter()
            .map(|(k, _)| *k)
            .chain(self.planned.iter().map(|(k, _)| *k))
            .collect()
    }

    /// Builds one component.
    pub fn build(
        &self,
        kind: &str,
        settings: &mut Table,
        restore: &mut Table,
    ) -> Result<Arc<dyn Component>> {
        if let Some((_, f)) = self.kinds.iter().find(|(k, _)| *k == kind) {
            return f(settings, restore);
        }
        if let Some((k, what)) = self.planned.iter().find(|(k, _)| *k == kind) {
            settings.drain();
            restore.drain();
            return Ok(Arc::new(Planned { kind: k, what }));
        }
        Err(Error::invalid(format!(
            "unknown component kind {kind:?} (known: {})",
            self.kinds().join(", ")
        )))
    }
}

/// A component whose adapter is not built: it refuses every operation.
struct Planned {
    kind: &'static str,
    what: &'static str,
}

impl Planned {
    fn refuse<T>(&self) -> Result<T> {
        Err(Error::invalid(format!(
            "component kind {:?} needs {}, which is not built yet",
            self.kind, self.what
        )))
    }
}

impl Component for Planned {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn describe(&self) -> String {
        format!("{} (adapter not built yet)", self.kind)
    }
    fn unavailable(&self) -> Option<String> {
        Some(format!("needs {}, which is not built yet", self.what))
    }
    fn capture(&self, _: &CaptureCx<'_>) -> Result<Capture> {
        self.refuse()
    }
    fn restore_target(&self) -> String {
        "(adapter not built yet)".into()
    }
    fn restore(&self, _: &RestoreCx<'_>) -> Result<Outcome> {
        self.refuse()
    }
    fn verify(&self, _: &RestoreCx<'_>) -> Result<Outcome> {
        self.refuse()
    }
}
