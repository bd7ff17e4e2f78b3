//! Which storage errors are worth retrying, decided by the errors' types
//! and kinds, never by their text.
//!
//! - An [`HttpError`] anywhere in the source chain gives its kind:
//!   connect, request, timeout, interrupted and decode (a body cut short)
//!   are transient; unknown is final.
//! - A [`std::io::Error`] in the chain is transient for the kinds of a
//!   broken or slow connection.
//! - [`ServerBusy`] (a 5xx or 429 answer, raised by the S3 client's
//!   [`StatusAware`] service before `object_store` reads the body) is
//!   transient.

#[cfg(feature = "s3")]
use object_store::client::{HttpError, HttpErrorKind};
use std::error::Error as StdError;
use std::io::ErrorKind;

/// A server answered 5xx (internal error, unavailable, `SlowDown`) or 429.
#[derive(Debug)]
pub struct ServerBusy {
    /// The HTTP status.
    pub status: u16,
}

impl std::fmt::Display for ServerBusy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            429 => write!(f, "HTTP 429: too many requests"),
            503 => write!(f, "HTTP 503: service unavailable or slow down"),
            s => write!(f, "HTTP {s}: server error"),
        }
    }
}

impl StdError for ServerBusy {}

/// True when `e` or one of its sources is worth retrying (the typed
/// `object_store` errors, not found, exists and the like, never get here:
/// only its `Generic` errors are asked).
pub(crate) fn is_transient(e: &(dyn StdError + 'static)) -> bool {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(v) = verdict(err) {
            return v;
        }
        cur = err.source();
    }
    false
}

/// What one error in the chain says, if it says anything.
fn verdict(err: &(dyn StdError + 'static)) -> Option<bool> {
    if err.is::<ServerBusy>() {
        return Some(true);
    }
    #[cfg(feature = "s3")]
    if let Some(h) = err.downcast_ref::<HttpError>() {
        return match h.kind() {
            HttpErrorKind::Connect
            | HttpErrorKind::Request
            | HttpErrorKind::Timeout
            | HttpErrorKind::Interrupted
            | HttpErrorKind::Decode => Some(true),
            // Look further down: the cause may be an I/O error.
            _ => None,
        };
    }
    if let Some(io) = err.downcast_ref::<std::io::Error>() {
        return Some(matches!(
            io.kind(),
            ErrorKind::TimedOut
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::ConnectionRefused
                | ErrorKind::NotConnected
                | ErrorKind::BrokenPipe
                | ErrorKind::UnexpectedEof
                | ErrorKind::Interrupted
                | ErrorKind::WouldBlock
        ));
    }
    None
}

/// An HTTP service that turns 5xx and 429 answers into a typed,
/// transient [`HttpError`] carrying [`ServerBusy`], so that the status
/// survives into the error chain (`object_store` keeps it only in text).
#[cfg(feature = "s3")]
#[derive(Debug)]
pub(crate) struct StatusAware(object_store::client::HttpClient);

#[cfg(feature = "s3")]
#[async_trait::async_trait]
impl object_store::client::HttpService for StatusAware {
    async fn call(
        &self,
        req: object_store::client::HttpRequest,
    ) -> Result<object_store::client::HttpResponse, HttpError> {
        let resp = self.0.execute(req).await?;
        let status = resp.status();
        if status.is_server_error() || status.as_u16() == 429 {
            let busy = ServerBusy {
                status: status.as_u16(),
            };
            return Err(HttpError::new(HttpErrorKind::Interrupted, busy));
        }
        Ok(resp)
    }
}

/// The connector the S3 client is built with: reqwest, wrapped in
/// [`StatusAware`].
#[cfg(feature = "s3")]
#[derive(Debug, Default)]
pub(crate) struct StatusAwareConnector;

#[cfg(feature = "s3")]
impl object_store::client::HttpConnector for StatusAwareConnector {
    fn connect(
        &self,
        options: &object_store::ClientOptions,
    ) -> object_store::Result<object_store::client::HttpClient> {
        use object_store::client::{HttpClient, ReqwestConnector};
        let inner = ReqwestConnector::default().connect(options)?;
        Ok(HttpClient::new(StatusAware(inner)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapped(Box<dyn StdError + Send + Sync>);
    impl std::fmt::Display for Wrapped {
        // Text that would fool a matcher on words.
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "connection timeout 503 slow down")
        }
    }
    impl StdError for Wrapped {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(self.0.as_ref())
        }
    }

    #[test]
    fn kinds_decide_not_words() {
        let reset = Wrapped(Box::new(std::io::Error::from(ErrorKind::ConnectionReset)));
        assert!(is_transient(&reset));
        let denied = Wrapped(Box::new(std::io::Error::from(ErrorKind::PermissionDenied)));
        assert!(!is_transient(&denied), "words in the text must not matter");
        assert!(is_transient(&Wrapped(Box::new(ServerBusy { status: 503 }))));
    }

    #[cfg(feature = "s3")]
    #[test]
    fn http_error_kinds_decide() {
        let busy = HttpError::new(HttpErrorKind::Interrupted, ServerBusy { status: 503 });
        assert!(is_transient(&Wrapped(Box::new(busy))));
        let timeout = HttpError::new(HttpErrorKind::Timeout, std::fmt::Error);
        assert!(is_transient(&timeout));
        let unknown = HttpError::new(HttpErrorKind::Unknown, std::fmt::Error);
        assert!(!is_transient(&unknown));
        let unknown_io = HttpError::new(
            HttpErrorKind::Unknown,
            std::io::Error::from(ErrorKind::BrokenPipe),
        );
        assert!(
            is_transient(&unknown_io),
            "an unknown kind looks at its cause"
        );
    }
}
