//! The component kinds this binary knows: one line per adapter.

use cairn_plan::Registry;

/// Built-in kinds plus every adapter compiled in.
pub fn registry() -> Registry {
    let r = Registry::builtin()
        .register("postgres", cairn_postgres::from_settings)
        .register("postgres-base", cairn_postgres::pitr::from_settings)
        .register("keycloak", cairn_keycloak::from_settings)
        .register("kubernetes", cairn_kubernetes::from_settings)
        .register("mongodb", cairn_mongodb::from_settings);
    #[cfg(feature = "s3")]
    let r = r.register("s3", cairn_s3::from_settings);
    #[cfg(not(feature = "s3"))]
    let r = r.planned("s3", "a cairn built with the `s3` feature");
    r
}
