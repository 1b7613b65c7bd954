//! The HTTP server every fake upstream runs on: an axum router on 127.0.0.1, a free port, its
//! own thread and single-threaded tokio runtime. Owning a runtime keeps the fake answering
//! while a test's runtime is blocked (a test running the `kpisync` binary synchronously) or its
//! clock is paused, so a fake's delays are always real time.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::thread::JoinHandle;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running loopback server. Dropping it stops the server and closes every connection.
pub(crate) struct LoopbackServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl LoopbackServer {
    /// Binds a free port, builds the router knowing the address it will serve on (a fake may
    /// have to name its own URLs) along with whatever `build` returns beside it, and serves the
    /// router from a thread called `name`.
    pub fn start<T>(
        name: &str,
        build: impl FnOnce(SocketAddr) -> (axum::Router, T),
    ) -> std::io::Result<(LoopbackServer, T)> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (app, built) = build(addr);
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = name.to_owned();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(error) => {
                            tracing::warn!(server, %error, "fake upstream could not listen");
                            return;
                        }
                    };
                    tokio::select! {
                        result = axum::serve(listener, app).into_future() => {
                            if let Err(error) = result {
                                tracing::warn!(server, %error, "fake upstream failed");
                            }
                        }
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime here cancels the connection tasks still running.
            })?;
        let server = LoopbackServer {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        };
        Ok((server, built))
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        drop(self.shutdown.take());
        // The server thread only has to leave `block_on` and drop its runtime, which does not
        // wait for anything, so joining is quick; it makes the port closed on return.
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
