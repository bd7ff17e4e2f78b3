//! Reaching a server through the official driver, and what it says about
//! itself.

use bson::{doc, Document};
use cairn::{Error, Result};
use mongodb::sync::Client;

/// The URI used when none is given.
pub const DEFAULT_URI: &str = "mongodb://127.0.0.1:27017";

/// A driver error, named.
pub fn failed(what: &str, e: mongodb::error::Error) -> Error {
    Error::Source {
        name: format!("mongodb {what}"),
        detail: e.to_string(),
    }
}

/// The server error code of a failed command, if it is one.
pub fn code(e: &mongodb::error::Error) -> Option<i32> {
    match e.kind.as_ref() {
        mongodb::error::ErrorKind::Command(c) => Some(c.code),
        _ => None,
    }
}

/// A client for `uri` (the driver's own connection string: hosts,
/// replicaSet, authSource, tls, ...), named `cairn` in the server's logs.
pub fn connect(uri: &str) -> Result<Client> {
    let mut o = mongodb::options::ClientOptions::parse(uri)
        .run()
        .map_err(|e| Error::invalid(format!("MongoDB URI {}: {e}", redact(uri))))?;
    o.app_name.get_or_insert_with(|| "cairn".into());
    Client::with_options(o).map_err(|e| failed("connect", e))
}

/// `uri` with its password replaced, for messages.
pub fn redact(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return uri.to_string();
    };
    match rest.split_once('@') {
        Some((cred, hosts)) => match cred.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{hosts}"),
            None => uri.to_string(),
        },
        None => uri.to_string(),
    }
}

/// What the server is.
#[derive(Clone, Debug, Default)]
pub struct ServerInfo {
    /// buildInfo's version.
    pub version: String,
    /// The replica set it belongs to.
    pub replica_set: Option<String>,
    /// Whether it is a mongos.
    pub mongos: bool,
}

impl ServerInfo {
    /// Whether it can serve snapshot reads (a replica set member or a
    /// mongos; a standalone cannot).
    pub fn snapshots(&self) -> bool {
        self.replica_set.is_some() || self.mongos
    }
}

/// Runs `command` on database `db`.
pub fn command(client: &Client, db: &str, command: Document) -> Result<Document> {
    let name = command.keys().next().cloned().unwrap_or_default();
    client
        .database(db)
        .run_command(command)
        .run()
        .map_err(|e| failed(&name, e))
}

/// Asks the server what it is.
pub fn server_info(client: &Client) -> Result<ServerInfo> {
    let hello = command(client, "admin", doc! { "hello": 1 })?;
    let build = command(client, "admin", doc! { "buildInfo": 1 })?;
    Ok(ServerInfo {
        version: build.get_str("version").unwrap_or("unknown").to_string(),
        replica_set: hello.get_str("setName").ok().map(str::to_string),
        mongos: hello.get_str("msg").ok() == Some("isdbgrid"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_a_message() {
        assert_eq!(
            redact("mongodb://backup:s3cret@db:27017/?replicaSet=rs0"),
            "mongodb://backup:***@db:27017/?replicaSet=rs0"
        );
        assert_eq!(redact("mongodb://db:27017"), "mongodb://db:27017");
        let e = connect("mongodb://u:s3cret@").expect_err("bad uri");
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }
}
