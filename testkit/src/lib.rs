//! Test support shared by the cairn crates' integration tests.
//!
//! [`Pg`] starts a real, throwaway PostgreSQL cluster, [`Redis`] a real
//! Redis server and [`Moto`] a real S3-compatible server; nothing here is
//! a mock.

pub mod crashfs;
pub mod faultproxy;
mod moto;
mod pg;
mod redis;

pub use crashfs::CrashFs;
pub use faultproxy::{Fault, FaultMix, FaultProxy};
pub use moto::Moto;
pub use pg::Pg;
pub use redis::Redis;
