//! Test support shared by the cairn crates' integration tests.
//!
//! [`Pg`] starts a real, throwaway PostgreSQL cluster and [`Moto`] a real
//! S3-compatible server; nothing here is a mock.

mod moto;
mod pg;

pub use moto::Moto;
pub use pg::Pg;
