//! The one loopback HTTP server behind every local endpoint: the SMS emulator, the
//! local S3, the local event bus, the Lambda Runtime API fake and the tests' proxies.
//!
//! It binds 127.0.0.1 only (a port of 0 picks a free one), serves HTTP/1.1 with one
//! task per connection and without Nagle's delay, logs accept errors and backs off
//! briefly instead of spinning when the process runs out of descriptors, and shuts
//! down gracefully: it stops accepting, lets each open connection finish the request
//! it is serving, closes idle keep-alive connections, and gives up on stragglers (a
//! long poll that never answers) after [`SHUTDOWN_GRACE`]. [`aws_response`] frames
//! the stand-ins' answers as AWS services do (request id, content type, error type).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Body, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnectionBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// How long a shutdown waits for connections still serving a request.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// Pause after a failed accept (e.g. out of file descriptors) before the next one.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// A server running on 127.0.0.1. Dropping it stops accepting; [`Self::shutdown`]
/// also waits for the open connections.
pub struct LoopbackServer {
    name: &'static str,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

static REQUEST_IDS: AtomicU64 = AtomicU64::new(1);

/// Called with an operation's name once a stand-in has applied a call, before the
/// caller hears the answer: the hard-kill harness kills the calling process there, so
/// that an action is done and the function never learns it.
pub type AnswerHook = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// An answer as an AWS service frames it: `status`, a fresh `x-amzn-requestid`, the
/// body with its content type (none for an empty answer such as a 204), and the error's
/// name in `x-amzn-errortype` when it is one. The stand-ins' one way to answer.
pub fn aws_response(
    status: u16,
    body: Option<(&str, Vec<u8>)>,
    error_type: Option<&str>,
) -> Response<Full<Bytes>> {
    aws_response_as(&next_request_id(), status, body, error_type)
}

/// A fresh request id, for an answer that also carries it in its body (EC2's XML).
pub fn next_request_id() -> String {
    let id = REQUEST_IDS.fetch_add(1, Ordering::Relaxed);
    format!("00000000-0000-4000-8000-{id:012x}")
}

/// [`aws_response`] under the request id `id`.
pub fn aws_response_as(
    id: &str,
    status: u16,
    body: Option<(&str, Vec<u8>)>,
    error_type: Option<&str>,
) -> Response<Full<Bytes>> {
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("x-amzn-requestid", id);
    if let Some(name) = error_type {
        builder = builder.header("x-amzn-errortype", name);
    }
    let body = match body {
        Some((content_type, bytes)) => {
            builder = builder.header("content-type", content_type);
            Bytes::from(bytes)
        }
        None => Bytes::new(),
    };
    builder
        .body(Full::new(body))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// Binds 127.0.0.1:`port`; 0 picks a free port.
pub async fn bind(port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind(("127.0.0.1", port)).await
}

impl LoopbackServer {
    /// Serves `handle` on `listener`; `name` labels the log lines ("SMS emulator").
    ///
    /// `handle` answers one request; it is cloned into every connection.
    pub fn serve<H, F, B>(name: &'static str, listener: TcpListener, handle: H) -> Self
    where
        H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Response<B>> + Send + 'static,
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        // An unbound listener has no address only if the OS refuses to say; report it
        // as the unspecified address rather than failing a server that already works.
        let addr = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(name, listener, handle, stopped));
        Self {
            name,
            addr,
            stop,
            task: Some(task),
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, then waits (at most [`SHUTDOWN_GRACE`]) for open connections.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            if let Err(error) = task.await {
                tracing::warn!(server = self.name, %error, "server task ended abnormally");
            }
        }
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn accept_loop<H, F, B>(
    name: &'static str,
    listener: TcpListener,
    handle: H,
    mut stopped: watch::Receiver<bool>,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let builder = ConnectionBuilder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    loop {
        // Finished connections leave the set as new ones come, so it stays small.
        while connections.try_join_next().is_some() {}
        let socket = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                Err(error) => {
                    tracing::warn!(server = name, %error, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            _ = stopped.changed() => break,
        };
        // An answer written in pieces (s3s streams an object) would otherwise have its
        // last piece held by Nagle's algorithm until the client acknowledges the rest,
        // which a client may delay by 40 ms: a stall of the stand-in, not of a service.
        if let Err(error) = socket.set_nodelay(true) {
            tracing::debug!(server = name, %error, "TCP_NODELAY not set");
        }
        let handle = handle.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let answer = handle(request);
            async move { Ok::<_, Infallible>(answer.await) }
        });
        let connection = builder
            .serve_connection(TokioIo::new(socket), service)
            .into_owned();
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            // A client that hangs up mid-request is its own business, not the server's.
            let _ = connection.await;
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::debug!(
            server = name,
            "connections still open after the grace period are dropped"
        );
    }
    connections.abort_all();
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::Full;
    use std::io::{Read, Write};

    fn get(addr: SocketAddr) -> std::io::Result<String> {
        let mut stream = std::net::TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serves_on_loopback_and_stops_accepting_after_shutdown() {
        let listener = bind(0).await.expect("bind");
        let server = LoopbackServer::serve("test", listener, |_request| async {
            Response::new(Full::new(Bytes::from_static(b"hello")))
        });
        let addr = server.addr();
        assert!(addr.ip().is_loopback());
        assert!(server.endpoint().starts_with("http://127.0.0.1:"));
        let answer = tokio::task::spawn_blocking(move || get(addr))
            .await
            .expect("join")
            .expect("answered");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("hello"), "{answer}");

        server.shutdown().await;
        let refused = tokio::task::spawn_blocking(move || get(addr))
            .await
            .expect("join");
        assert!(
            refused.is_err(),
            "still serving after shutdown: {refused:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_does_not_wait_forever_for_a_request_that_never_ends() {
        let listener = bind(0).await.expect("bind");
        let server = LoopbackServer::serve("test", listener, |_request| async {
            std::future::pending::<()>().await;
            Response::new(Full::new(Bytes::new()))
        });
        let addr = server.addr();
        let _hanging = tokio::task::spawn_blocking(move || get(addr));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = std::time::Instant::now();
        server.shutdown().await;
        assert!(started.elapsed() < SHUTDOWN_GRACE + Duration::from_secs(2));
    }
}
