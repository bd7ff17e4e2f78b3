//! Shared setup of the PostgreSQL adapter tests.

use cairn::{Argon2Params, InitOptions, ObjectBackend, Repository, Secret};
use std::sync::Arc;

/// A fresh in-memory repository with cheap key derivation.
pub fn repo() -> Repository {
    let b = Arc::new(ObjectBackend::memory().expect("backend"));
    let opts = InitOptions::default().argon2(Argon2Params::insecure_for_tests());
    Repository::init(b, &Secret::passphrase("x"), opts).expect("init")
}
