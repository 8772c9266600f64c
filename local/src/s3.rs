//! The local S3: s3s + s3s-fs serving a directory on 127.0.0.1, in-process.
//!
//! Clients may sign with any static credentials: the signature is only a formality
//! on loopback, so requests are passed to s3s as unsigned ones (the `Authorization`
//! header removed and an `aws-chunked` body decoded first, since s3s only decodes
//! those while checking a signature it would need the secret key for). Buckets are
//! the directories under the root; path-style addressing only.
//!
//! S3 applies a request whole or not at all, and never shows a half-written object.
//! s3s-fs keeps an object's data and its checksums in separate files, so each request
//! is received in full, then applied in a task of its own (a client that disconnects,
//! as a timed-out Lambda does, cannot stop it half way) and one at a time. One at a
//! time also makes s3s-fs's conditional writes (`If-None-Match: *`, `If-Match`) atomic
//! as S3's are: it checks the condition and writes in two steps, and the functions'
//! leases rely on no other write coming between them.
//!
//! For chaos runs a seeded fraction of requests is refused before it is applied, with
//! S3's own retryable answers (500 InternalError, 503 SlowDown).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_ENCODING, CONTENT_LENGTH};
use hyper::Request;
use s3s::service::{S3Service, S3ServiceBuilder};

use crate::http::LoopbackServer;
use crate::rng::SplitMix64;
use crate::EmulatorError;

/// Largest aws-chunked upload decoded in memory (templates and reports are small).
const MAX_CHUNKED_BODY: usize = 256 * 1024 * 1024;

/// A running local S3.
pub struct LocalS3 {
    server: LoopbackServer,
    root: PathBuf,
    _tempdir: Option<tempfile::TempDir>,
    faults: Arc<Mutex<S3Faults>>,
}

/// Which requests are refused instead of applied, and how many were.
struct S3Faults {
    rate: f64,
    dice: SplitMix64,
    injected: u64,
}

impl S3Faults {
    /// The answer replacing this request's, if the dice refuse it.
    fn roll(&mut self) -> Option<hyper::Response<s3s::Body>> {
        if self.rate <= 0.0 || self.dice.next_f64() >= self.rate {
            return None;
        }
        self.injected += 1;
        Some(if self.dice.next_u64().is_multiple_of(2) {
            error_response(
                hyper::StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again. (injected)",
            )
        } else {
            error_response(
                hyper::StatusCode::SERVICE_UNAVAILABLE,
                "SlowDown",
                "Please reduce your request rate. (injected)",
            )
        })
    }
}

impl LocalS3 {
    /// Serves `root` (a fresh temporary directory when `None`) on 127.0.0.1:`port`,
    /// creating `buckets` first.
    pub async fn start(
        root: Option<PathBuf>,
        port: u16,
        buckets: &[String],
    ) -> Result<Self, EmulatorError> {
        let (root, tempdir) = match root {
            Some(r) => {
                std::fs::create_dir_all(&r)
                    .map_err(|e| EmulatorError::S3(format!("creating {}: {e}", r.display())))?;
                (r, None)
            }
            None => {
                let dir = tempfile::Builder::new()
                    .prefix("sms-autopilot-s3-")
                    .tempdir()
                    .map_err(|e| {
                        EmulatorError::S3(format!("creating a temporary directory: {e}"))
                    })?;
                (dir.path().to_path_buf(), Some(dir))
            }
        };
        for b in buckets {
            create_bucket(&root, b)?;
        }
        let fs = s3s_fs::FileSystem::new(&root).map_err(|e| EmulatorError::S3(format!("{e:?}")))?;
        let service = S3ServiceBuilder::new(fs).build();
        let listener = crate::http::bind(port)
            .await
            .map_err(|source| EmulatorError::Bind {
                what: "S3",
                port,
                source,
            })?;
        let faults = Arc::new(Mutex::new(S3Faults {
            rate: 0.0,
            dice: SplitMix64::new(0x53_fa17),
            injected: 0,
        }));
        let server = LoopbackServer::serve("local S3", listener, applier(service, &faults));
        Ok(Self {
            server,
            root,
            _tempdir: tempdir,
            faults,
        })
    }

    /// Refuses a fraction `rate` of the requests from now on (0 turns it off); the
    /// refusals are decided by a sequence fixed by `seed`.
    pub fn set_failure_rate(&self, rate: f64, seed: u64) {
        let mut faults = self.faults.lock().unwrap_or_else(PoisonError::into_inner);
        if faults.rate == 0.0 && rate > 0.0 {
            faults.dice = SplitMix64::new(seed ^ 0x53_fa17);
        }
        faults.rate = rate;
    }

    /// Requests refused so far.
    pub fn failures_injected(&self) -> u64 {
        self.faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .injected
    }

    /// "http://127.0.0.1:PORT".
    pub fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    /// The directory holding the buckets.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Stops accepting connections and waits for the open ones.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Creates a bucket (a directory under the root); existing ones are kept.
pub fn create_bucket(root: &Path, bucket: &str) -> Result<(), EmulatorError> {
    std::fs::create_dir_all(root.join(bucket))
        .map_err(|e| EmulatorError::S3(format!("creating bucket {bucket}: {e}")))
}

/// The request handler: refuses what the fault dice pick, applies the rest whole and
/// one at a time.
fn applier(
    service: S3Service,
    faults: &Arc<Mutex<S3Faults>>,
) -> impl Fn(Request<Incoming>) -> BoxedAnswer + Clone + Send + Sync + 'static {
    let one_at_a_time = Arc::new(tokio::sync::Mutex::new(()));
    let faults = Arc::clone(faults);
    move |req: Request<Incoming>| {
        let service = service.clone();
        let one_at_a_time = Arc::clone(&one_at_a_time);
        let faults = Arc::clone(&faults);
        Box::pin(async move {
            let req = match unsign(req).await {
                Ok(req) => req,
                Err(message) => return bad_request(&message),
            };
            let refused = faults.lock().unwrap_or_else(PoisonError::into_inner).roll();
            if let Some(refused) = refused {
                return refused;
            }
            let applied = tokio::spawn(async move {
                let _turn = one_at_a_time.lock().await;
                service.call(req).await
            });
            match applied.await {
                Ok(Ok(answer)) => answer,
                Ok(Err(error)) => server_error(&format!("the S3 service failed: {error:?}")),
                Err(e) => server_error(&format!("request task failed: {e}")),
            }
        })
    }
}

/// What the handler gives back for one request.
type BoxedAnswer =
    std::pin::Pin<Box<dyn std::future::Future<Output = hyper::Response<s3s::Body>> + Send>>;

fn server_error(message: &str) -> hyper::Response<s3s::Body> {
    error_response(
        hyper::StatusCode::INTERNAL_SERVER_ERROR,
        "InternalError",
        message,
    )
}

fn bad_request(message: &str) -> hyper::Response<s3s::Body> {
    error_response(hyper::StatusCode::BAD_REQUEST, "InvalidRequest", message)
}

/// An S3 error document.
fn error_response(
    status: hyper::StatusCode,
    code: &str,
    message: &str,
) -> hyper::Response<s3s::Body> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut resp = hyper::Response::new(s3s::Body::from(body));
    *resp.status_mut() = status;
    resp
}

/// Turns a signed request into the unsigned one s3s accepts without credentials.
async fn unsign(req: Request<Incoming>) -> Result<Request<s3s::Body>, String> {
    let (mut parts, body) = req.into_parts();
    parts.headers.remove(hyper::header::AUTHORIZATION);
    let streaming = parts
        .headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("STREAMING-"));
    // The whole body first: a request cut off in transit is never applied.
    let raw = body
        .collect()
        .await
        .map_err(|e| format!("reading the request body: {e}"))?
        .to_bytes();
    if !streaming {
        return Ok(Request::from_parts(parts, s3s::Body::from(raw)));
    }
    let decoded = decode_aws_chunked(&raw)?;
    parts.headers.remove("x-amz-decoded-content-length");
    parts.headers.remove("x-amz-trailer");
    parts.headers.insert(
        "x-amz-content-sha256",
        HeaderValue::from_static("UNSIGNED-PAYLOAD"),
    );
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(decoded.len()));
    let encoding = parts
        .headers
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|e| !e.eq_ignore_ascii_case("aws-chunked") && !e.is_empty())
                .collect::<Vec<_>>()
                .join(", ")
        });
    parts.headers.remove(CONTENT_ENCODING);
    if let Some(enc) = encoding.filter(|e| !e.is_empty()) {
        if let Ok(v) = HeaderValue::from_str(&enc) {
            parts.headers.insert(CONTENT_ENCODING, v);
        }
    }
    Ok(Request::from_parts(parts, s3s::Body::from(decoded)))
}

/// Decodes `size[;chunk-signature=…]\r\n data \r\n … 0\r\n [trailers] \r\n`.
fn decode_aws_chunked(raw: &[u8]) -> Result<Bytes, String> {
    let mut out = BytesMut::new();
    let mut pos = 0usize;
    // Each pass consumes one chunk, so the body length bounds the loop.
    while pos < raw.len() {
        let line_end = find_crlf(raw, pos).ok_or("aws-chunked body: missing chunk header")?;
        let header = std::str::from_utf8(&raw[pos..line_end])
            .map_err(|_| "aws-chunked body: bad chunk header")?;
        let size_hex = header.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| format!("aws-chunked body: bad chunk size {size_hex:?}"))?;
        pos = line_end + 2;
        if size == 0 {
            return Ok(out.freeze());
        }
        let end = pos
            .checked_add(size)
            .filter(|e| *e <= raw.len())
            .ok_or("aws-chunked body: truncated chunk")?;
        if out.len() + size > MAX_CHUNKED_BODY {
            return Err("aws-chunked body too large for the local S3".into());
        }
        out.extend_from_slice(&raw[pos..end]);
        pos = end;
        if raw.get(pos..pos + 2) == Some(b"\r\n") {
            pos += 2;
        }
    }
    Err("aws-chunked body: missing final chunk".into())
}

fn find_crlf(raw: &[u8], from: usize) -> Option<usize> {
    raw.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::{decode_aws_chunked, LocalS3};
    use aws_config::{BehaviorVersion, Region};
    use aws_sdk_s3::config::Credentials;
    use aws_sdk_s3::primitives::ByteStream;

    #[tokio::test]
    async fn injected_failures_refuse_whole_requests_and_are_counted() {
        let s3 = LocalS3::start(None, 0, &["bucket".to_owned()])
            .await
            .unwrap();
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("k", "s", None, None, "test"))
            .endpoint_url(s3.endpoint())
            .force_path_style(true)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        let client = aws_sdk_s3::Client::from_conf(config);
        let put = |key: &'static str| {
            client
                .put_object()
                .bucket("bucket")
                .key(key)
                .body(ByteStream::from_static(b"x"))
                .send()
        };

        s3.set_failure_rate(1.0, 7);
        for _ in 0..4 {
            let error = put("refused").await.expect_err("every request refused");
            let status = error.raw_response().map(|r| r.status().as_u16());
            assert!(matches!(status, Some(500 | 503)), "{status:?}");
        }
        assert_eq!(s3.failures_injected(), 4);
        assert!(
            !s3.root().join("bucket/refused").exists(),
            "nothing applied"
        );

        s3.set_failure_rate(0.0, 7);
        put("kept").await.expect("faults off");
        assert_eq!(s3.failures_injected(), 4);
        s3.shutdown().await;
    }

    #[test]
    fn decodes_signed_and_unsigned_chunks() {
        let signed = b"5;chunk-signature=abc\r\nhello\r\n6;chunk-signature=def\r\n world\r\n0;chunk-signature=0\r\n\r\n";
        assert_eq!(
            &decode_aws_chunked(signed).expect("signed")[..],
            b"hello world"
        );
        let trailer = b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
        assert_eq!(&decode_aws_chunked(trailer).expect("trailer")[..], b"abc");
        assert!(decode_aws_chunked(b"zz\r\n").is_err());
        assert!(decode_aws_chunked(b"10\r\nshort").is_err());
    }
}
