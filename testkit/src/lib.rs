//! Test support shared by the cairn crates' integration tests.
//!
//! [`Pg`] starts a real, throwaway PostgreSQL cluster; nothing here is a
//! mock.

mod pg;

pub use pg::Pg;
