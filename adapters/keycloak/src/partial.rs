//! Configuration-only backups through the admin REST API
//! (`POST /admin/realms/REALM/partial-export`): clients, roles, groups and
//! identity providers with their secrets masked by Keycloak, and **no
//! users**. Not a restorable backup of a realm, and labelled so in the
//! snapshot; useful to track configuration between full exports.
//!
//! The HTTP requests go through `curl`, with the password read from a file
//! and the bearer token passed on stdin, so neither appears in a process
//! list.

use cairn::{Error, Result};
use std::path::PathBuf;
use std::process::Command;

/// Where and as whom to ask.
#[derive(Clone, Debug, Default)]
pub struct PartialOptions {
    /// Base URL (`https://id.example.com`).
    pub url: String,
    /// The realm to export.
    pub realm: String,
    /// The realm the admin user lives in (default `master`).
    pub admin_realm: String,
    /// OAuth client (default `admin-cli`).
    pub client_id: String,
    /// Admin user name.
    pub username: String,
    /// File holding the admin password.
    pub password_file: PathBuf,
    /// `curl` (default from `PATH`).
    pub curl: String,
}

/// Label stored in the snapshot.
pub const PARTIAL_LABEL: &str =
    "partial-export: configuration only (secrets masked by Keycloak, no users); NOT a restorable backup";

fn curl(o: &PartialOptions, args: &[&str], stdin: Option<&str>, what: &str) -> Result<Vec<u8>> {
    let mut cmd = Command::new(if o.curl.is_empty() { "curl" } else { &o.curl });
    cmd.args([
        "--fail-with-body",
        "--silent",
        "--show-error",
        "--max-time",
        "120",
    ])
    .args(args);
    cairn_plan::run_captured(cmd, what, stdin.map(str::as_bytes))
}

/// Fetches the partial export of `o.realm`.
pub fn partial_export(o: &PartialOptions) -> Result<Vec<u8>> {
    let base = o.url.trim_end_matches('/');
    let admin = if o.admin_realm.is_empty() {
        "master"
    } else {
        &o.admin_realm
    };
    let client = if o.client_id.is_empty() {
        "admin-cli"
    } else {
        &o.client_id
    };
    let token_url = format!("{base}/realms/{admin}/protocol/openid-connect/token");
    let password = format!("password@{}", o.password_file.display());
    let answer = curl(
        o,
        &[
            "--data-urlencode",
            "grant_type=password",
            "--data-urlencode",
            &format!("client_id={client}"),
            "--data-urlencode",
            &format!("username={}", o.username),
            "--data-urlencode",
            &password,
            &token_url,
        ],
        None,
        "keycloak token",
    )?;
    let token = serde_json::from_slice::<serde_json::Value>(&answer)
        .ok()
        .and_then(|v| v["access_token"].as_str().map(str::to_string))
        .ok_or_else(|| Error::Source {
            name: "keycloak token".into(),
            detail: format!("{token_url} answered without an access_token"),
        })?;
    let url = format!(
        "{base}/admin/realms/{}/partial-export?exportClients=true&exportGroupsAndRoles=true",
        o.realm
    );
    curl(
        o,
        &["--request", "POST", "--header", "@-", &url],
        Some(&format!("Authorization: Bearer {token}\n")),
        "keycloak partial-export",
    )
}
