//! SIGINT and SIGTERM: the first asks a long operation to stop cleanly
//! (a backup stores and indexes what it read, writes no snapshot, and exits
//! 130); a second one while it stops exits at once.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// A flag set by the first SIGINT or SIGTERM.
pub fn stop_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // Registered first, so it sees the flag as it was: set only by an
        // earlier signal.
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, flag.clone());
        let _ = signal_hook::flag::register(sig, flag.clone());
    }
    flag
}
