//! The one boot path: settings in, a bound server out. `resetd serve` and the end-to-end
//! harness both go through [`Application::build`] (zero2prod's `Application`), so what the
//! tests start is what production runs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use resetd_adapters_notify::{Keeping, Mailbox};
use resetd_app::App;
use resetd_ports::clock::{Clock, SystemClock};
use resetd_ports::notify::Notifier;
use secrecy::ExposeSecret as _;

use crate::{build, notifier, router, Settings};

/// A bound, ready-to-run resetd.
pub struct Application {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    router: axum::Router,
    app: App,
    base_url: String,
    outbox_every: Duration,
    audit_writer: Option<resetd_app::audit_batch::AuditWriter>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Application {
    /// Binds `server.bind`, connects the configured backends and builds the service, with
    /// the system clock and the configured senders. An empty `server.public_base_url` becomes
    /// `http://<bound address>` (port 0 picks a free port).
    ///
    /// # Errors
    /// The production profile's requirements, bad settings, a backend that cannot be reached,
    /// an address that cannot be bound.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        if settings.profile == crate::Profile::Production {
            settings.check_production()?;
        }
        let notifier = notifier(&settings)?;
        Self::build_with(settings, Arc::new(SystemClock), notifier).await
    }

    /// [`Self::build`] with an injected clock and notifier (tests).
    ///
    /// # Errors
    /// See [`Self::build`].
    pub async fn build_with(
        mut settings: Settings,
        clock: Arc<dyn Clock>,
        notifier: Arc<dyn Notifier>,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(&settings.server.bind)
            .await
            .with_context(|| format!("binding {}", settings.server.bind))?;
        let addr = listener.local_addr()?;
        if settings.server.public_base_url.is_empty() {
            settings.server.public_base_url = format!("http://{addr}");
        }
        // The dev profile keeps what it delivers for /dev/outbox; nothing else ever does.
        let dev = settings.profile == crate::Profile::Dev;
        let mailbox = dev.then(|| Arc::new(Mailbox::new(300)));
        let notifier = match &mailbox {
            Some(m) => Arc::new(Keeping::new(notifier, m.clone())),
            None => notifier,
        };
        let mut built = build(&settings, clock, notifier).await?;
        let audit_writer = built.audit_writer.take();
        if dev && settings.database.url.expose_secret().is_empty() {
            let made = built.app.bootstrap.bootstrap(false).await.context("bootstrapping the dev profile")?;
            crate::dev::announce(&crate::dev::bootstrap_json(&made), &settings.dev.bootstrap_file)?;
        }
        let dev_outbox = mailbox.map(|m| Arc::new(crate::dev::MailboxOutbox(m)) as Arc<dyn resetd_api_http::DevOutbox>);
        let app = built.app.clone();
        let base_url = settings.server.public_base_url.trim_end_matches('/').to_owned();
        let outbox_every = Duration::from_millis(settings.outbox.poll_interval_ms.max(10));
        let router = router(&settings, built, dev_outbox)?;
        Ok(Self { listener, addr, router, app, base_url, outbox_every, audit_writer })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The public base URL the service uses in links.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The use cases, for tests and operator commands that share the process.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Serves until SIGTERM or Ctrl-C, then drains in-flight requests.
    ///
    /// # Errors
    /// The server loop failed.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        tracing::info!(addr = %self.addr, "resetd listening");
        let outbox = tokio::spawn(deliver_outbox(self.app.outbox.clone(), self.outbox_every));
        let _abort_on_exit = AbortOnDrop(outbox);
        // The batched audit events: written while serving, and what is queued at the end.
        // (A permit stored by `notify_one` stops the writer even if it is not waiting yet.)
        let stop_audit = std::sync::Arc::new(tokio::sync::Notify::new());
        let audit = self.audit_writer.map(|w| {
            let stopped = stop_audit.clone();
            tokio::spawn(w.run(async move { stopped.notified().await }))
        });
        let served = axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown())
            .await
            .context("serving");
        stop_audit.notify_one();
        if let Some(audit) = audit {
            match tokio::time::timeout(AUDIT_DRAIN, audit).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "the audit writer failed; queued events are lost"),
                Err(_) => tracing::error!("the queued audit events were not all written before the stop"),
            }
        }
        served
    }
}

/// How long a stop waits for the queued audit events to be written.
const AUDIT_DRAIN: Duration = Duration::from_secs(5);

/// Delivers the outbox every `every`, for as long as the server runs.
async fn deliver_outbox(worker: resetd_app::outbox::OutboxWorker, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = worker.run_once().await {
            tracing::warn!(error = %e, "the outbox could not be read; trying again");
        }
    }
}

/// Stops a background task when the server loop ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn shutdown() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}
