//! S3 and S3-compatible stores (MinIO, moto) through `object_store`.

use crate::error::{Error, Result};
use object_store::aws::{AmazonS3Builder, S3ConditionalPut};
use object_store::{ClientOptions, ObjectStore, RetryConfig};
use std::sync::Arc;
use std::time::Duration;

/// How to reach an S3-compatible service. Everything not set here comes
/// from the standard AWS environment (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` /
/// `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL`) and, for credentials and
/// region not in the environment, from the shared profile files
/// (`~/.aws/credentials`, `~/.aws/config`, `AWS_PROFILE`,
/// `AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`).
#[derive(Clone, Debug, Default)]
pub struct S3Options {
    /// Custom endpoint, e.g. `http://127.0.0.1:9000` for MinIO.
    pub endpoint: Option<String>,
    /// Region (default from the environment or profile, else `us-east-1`).
    pub region: Option<String>,
    /// Requests in flight at once (uploaders, range reads); 0 = 8.
    pub concurrency: usize,
    /// Tries per request for transient errors (timeouts, throttling, 5xx,
    /// resets); 0 = 6. Each retry is logged as a warning.
    pub retries: u32,
    /// Time one request may take, connection included; zero = 60 s. A hung
    /// server costs at most about `retries` × `timeout` before the
    /// operation fails.
    pub timeout: Duration,
}

impl S3Options {
    /// Tries per request (the default when unset).
    pub fn tries(&self) -> u32 {
        if self.retries == 0 {
            6
        } else {
            self.retries
        }
    }

    /// Per-request timeout (the default when unset).
    pub fn request_timeout(&self) -> Duration {
        if self.timeout.is_zero() {
            Duration::from_secs(60)
        } else {
            self.timeout
        }
    }
}

/// Splits `s3://bucket/prefix` into bucket and prefix.
pub fn parse_s3_url(url: &str) -> Result<(String, String)> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| Error::invalid(format!("{url:?} is not an s3://bucket/prefix location")))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(Error::invalid(format!("{url:?} names no bucket")));
    }
    Ok((bucket.to_string(), prefix.trim_matches('/').to_string()))
}

/// Reads `key` of `[section]` from an INI-style AWS file.
fn ini_value(path: &std::path::Path, section: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut in_section = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            let name = line.trim_matches(|c| c == '[' || c == ']').trim();
            in_section = name == section || name == format!("profile {section}");
            continue;
        }
        if in_section {
            if let Some((k, v)) = line.split_once('=') {
                if k.trim() == key {
                    return Some(v.trim().to_string());
                }
            }
        }
    }
    None
}

fn aws_file(var: &str, default: &str) -> Option<std::path::PathBuf> {
    std::env::var_os(var)
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".aws").join(default))
        })
}

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

/// Builds the store for one bucket.
pub fn s3_store(bucket: &str, opts: &S3Options) -> Result<Arc<dyn ObjectStore>> {
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_string());
    let creds = aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    let config = aws_file("AWS_CONFIG_FILE", "config");
    // Client options first: they carry allow_http, set below.
    let timeout = opts.request_timeout();
    let client = ClientOptions::new()
        .with_connect_timeout(timeout.min(Duration::from_secs(10)))
        .with_timeout(timeout);
    let mut b = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_client_options(client);
    if env("AWS_ACCESS_KEY_ID").is_none() {
        if let Some(path) = &creds {
            if let (Some(id), Some(secret)) = (
                ini_value(path, &profile, "aws_access_key_id"),
                ini_value(path, &profile, "aws_secret_access_key"),
            ) {
                b = b.with_access_key_id(id).with_secret_access_key(secret);
                if let Some(t) = ini_value(path, &profile, "aws_session_token") {
                    b = b.with_token(t);
                }
            }
        }
    }
    let region = opts
        .region
        .clone()
        .or_else(|| env("AWS_REGION"))
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .or_else(|| {
            config
                .as_ref()
                .and_then(|p| ini_value(p, &profile, "region"))
        })
        .unwrap_or_else(|| "us-east-1".to_string());
    b = b.with_region(region);
    let endpoint = opts.endpoint.clone().or_else(|| env("AWS_ENDPOINT_URL"));
    if let Some(e) = endpoint {
        // Custom endpoints (MinIO, test servers) use path-style addressing;
        // plain HTTP is allowed only when the endpoint asks for it.
        b = b
            .with_allow_http(e.starts_with("http://"))
            .with_virtual_hosted_style_request(false)
            .with_endpoint(e);
    }
    // Retries are RetryBackend's job, so that they are visible and tested.
    let retry = RetryConfig {
        max_retries: 0,
        ..RetryConfig::default()
    };
    let store = b
        .with_retry(retry)
        .with_http_connector(super::transient::StatusAwareConnector)
        .with_conditional_put(S3ConditionalPut::ETagMatch)
        .build()
        .map_err(|e| Error::backend(format!("configure s3 bucket {bucket}"), e))?;
    Ok(Arc::new(store))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_s3_url("s3://b/p/q/").expect("ok"),
            ("b".into(), "p/q".into())
        );
        assert_eq!(parse_s3_url("s3://b").expect("ok"), ("b".into(), "".into()));
        assert!(parse_s3_url("s3:///x").is_err());
        assert!(parse_s3_url("/local").is_err());
    }

    #[test]
    fn profile_files() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("credentials");
        std::fs::write(&p, "[default]\naws_access_key_id = A\n[ops]\naws_access_key_id=B\naws_secret_access_key = S\n").expect("write");
        assert_eq!(
            ini_value(&p, "ops", "aws_access_key_id").as_deref(),
            Some("B")
        );
        assert_eq!(
            ini_value(&p, "default", "aws_access_key_id").as_deref(),
            Some("A")
        );
        assert_eq!(ini_value(&p, "ops", "nope"), None);
        let c = dir.path().join("config");
        std::fs::write(&c, "[profile ops]\nregion = eu-west-3\n").expect("write");
        assert_eq!(ini_value(&c, "ops", "region").as_deref(), Some("eu-west-3"));
    }
}
