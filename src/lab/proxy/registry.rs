//! The proxy registry: every proxy's configuration, toxics and listener, and
//! the operations of the HTTP API on them (create, update, enable/disable,
//! delete, populate, reset, toxics), with Toxiproxy's semantics.
//!
//! One async mutex serialises API operations; the data plane never takes
//! it. Live connections learn about toxic changes through a `watch` channel
//! per proxy carrying an immutable [`ToxicPlan`], so an API call never waits
//! for a connection (Toxiproxy's API hangs under load for that reason).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::error::ApiError;
use super::listen;
use super::listener::{RunningListener, Shared};
use super::request;
use crate::faults::toxiproxy::model::{NewProxy, Proxy, Stream, Toxic, ToxicKind};
use crate::rng::Rng;

/// One toxic as the data plane sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlannedToxic {
    pub name: String,
    /// Set when the toxic is created; a toxic deleted and re-added under the
    /// same name gets a new one, so live chains do not carry state over.
    pub id: u64,
    /// Changes on every update, so live chains know to restart the stage.
    pub revision: u64,
    pub toxicity: f32,
    pub kind: ToxicKind,
}

/// The toxics of one proxy, per direction, in insertion order.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ToxicPlan {
    pub upstream: Vec<PlannedToxic>,
    pub downstream: Vec<PlannedToxic>,
}

impl ToxicPlan {
    pub(crate) fn for_stream(&self, stream: Stream) -> &[PlannedToxic] {
        match stream {
            Stream::Upstream => &self.upstream,
            Stream::Downstream => &self.downstream,
        }
    }
}

struct ToxicEntry {
    toxic: Toxic,
    id: u64,
    revision: u64,
}

struct ProxyEntry {
    name: String,
    /// The bound address while enabled; what was configured otherwise.
    listen: String,
    upstream: String,
    toxics: Vec<ToxicEntry>,
    plan: watch::Sender<Arc<ToxicPlan>>,
    running: Option<RunningListener>,
}

impl ProxyEntry {
    fn new(spec: &NewProxy) -> Self {
        Self {
            name: spec.name.clone(),
            listen: spec.listen.clone(),
            upstream: spec.upstream.clone(),
            toxics: Vec::new(),
            plan: watch::Sender::new(Arc::new(ToxicPlan::default())),
            running: None,
        }
    }

    fn ordered_toxics(&self) -> Vec<Toxic> {
        let by_stream = |stream| {
            self.toxics
                .iter()
                .filter(move |entry| entry.toxic.stream == stream)
                .map(|entry| entry.toxic.clone())
        };
        by_stream(Stream::Upstream)
            .chain(by_stream(Stream::Downstream))
            .collect()
    }

    fn to_proxy(&self) -> Proxy {
        Proxy {
            name: self.name.clone(),
            listen: self.listen.clone(),
            upstream: self.upstream.clone(),
            enabled: self.running.is_some(),
            toxics: self.ordered_toxics(),
        }
    }

    fn publish(&self) {
        let mut plan = ToxicPlan::default();
        for entry in &self.toxics {
            let planned = PlannedToxic {
                name: entry.toxic.name.clone(),
                id: entry.id,
                revision: entry.revision,
                toxicity: entry.toxic.toxicity,
                kind: entry.toxic.kind.clone(),
            };
            match entry.toxic.stream {
                Stream::Upstream => plan.upstream.push(planned),
                Stream::Downstream => plan.downstream.push(planned),
            }
        }
        self.plan.send_replace(Arc::new(plan));
    }

    async fn start(&mut self, shared: &Shared) -> Result<(), ApiError> {
        if self.running.is_some() {
            return Ok(());
        }
        let resolved = listen::resolve(&self.listen)
            .await
            .map_err(ApiError::Listen)?;
        let listener = listen::bind(&self.listen, resolved)
            .await
            .map_err(ApiError::Listen)?;
        let address = listener
            .local_addr()
            .map_err(|error| ApiError::Listen(format!("listen tcp {}: {error}", self.listen)))?;
        self.listen = address.to_string();
        self.running = Some(RunningListener::spawn(
            listener,
            self.upstream.clone(),
            self.plan.subscribe(),
            shared.clone(),
        ));
        tracing::info!(proxy = %self.name, listen = %self.listen, upstream = %self.upstream, "proxy started");
        Ok(())
    }

    async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
            tracing::info!(proxy = %self.name, "proxy stopped");
        }
    }

    fn find_toxic(&self, name: &str) -> Result<usize, ApiError> {
        self.toxics
            .iter()
            .position(|entry| entry.toxic.name == name)
            .ok_or(ApiError::ToxicNotFound)
    }
}

/// Settings of a proxy server.
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    /// Seeds toxicity rolls, jitter and slicing; `None` draws a seed.
    pub seed: Option<u64>,
    /// Most connections relayed at once, across all proxies; `None` derives
    /// it from the open-file limit ([`connection_ceiling`]).
    pub max_connections: Option<usize>,
}

/// The most connections a proxy server relays at once when the open-file
/// soft limit is `limit`: each costs two descriptors (the client's and the
/// upstream's), and [`crate::fd_limit::RESERVED`] stay free so the API can
/// always accept (to remove the toxic that is piling connections up).
/// Unlimited (`None`) gives no ceiling.
pub fn connection_ceiling(limit: Option<u64>) -> usize {
    limit.map_or(usize::MAX, |limit| {
        let pairs = limit.saturating_sub(crate::fd_limit::RESERVED) / 2;
        usize::try_from(pairs).unwrap_or(usize::MAX).max(1)
    })
}

/// 128 random bits in hex, from the kernel (or, failing that, the clock and pid).
fn new_instance_id() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    let from_kernel = std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .is_ok();
    if !from_kernel {
        let mut rng = Rng::from_entropy();
        bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct Inner {
    proxies: tokio::sync::Mutex<BTreeMap<String, ProxyEntry>>,
    shared: Shared,
    revisions: AtomicU64,
    instance: String,
}

/// The state of one proxy server: a cheap handle, shared by the API and the
/// lab code that drives it directly.
#[derive(Clone)]
pub struct ProxyServer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ProxyServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyServer")
            .field("open_connections", &self.open_connections())
            .field("max_connections", &self.max_connections())
            .finish_non_exhaustive()
    }
}

impl ProxyServer {
    /// An empty server.
    pub fn new(config: ServerConfig) -> Self {
        let rng = config.seed.map_or_else(Rng::from_entropy, Rng::new);
        let max_connections = config
            .max_connections
            .unwrap_or_else(|| connection_ceiling(crate::fd_limit::soft_limit()));
        Self {
            inner: Arc::new(Inner {
                proxies: tokio::sync::Mutex::new(BTreeMap::new()),
                shared: Shared {
                    rng: Arc::new(Mutex::new(rng)),
                    connections: Arc::new(AtomicUsize::new(0)),
                    max_connections,
                    refused: Arc::new(AtomicU64::new(0)),
                },
                revisions: AtomicU64::new(1),
                instance: new_instance_id(),
            }),
        }
    }

    /// This server's instance id: random, drawn at start (never from the
    /// seed), answered in `GET /version` so a fault journal can tell this
    /// server from a later one on the same address.
    pub fn instance(&self) -> &str {
        &self.inner.instance
    }

    /// Connections currently relayed, across all proxies.
    pub fn open_connections(&self) -> usize {
        self.inner.shared.connections.load(Ordering::SeqCst)
    }

    /// The most connections relayed at once (see [`ServerConfig`]).
    pub fn max_connections(&self) -> usize {
        self.inner.shared.max_connections
    }

    /// Connections closed on arrival because the ceiling was reached.
    pub fn refused_connections(&self) -> u64 {
        self.inner.shared.refused.load(Ordering::SeqCst)
    }

    fn next_revision(&self) -> u64 {
        self.inner.revisions.fetch_add(1, Ordering::Relaxed)
    }

    /// All proxies, by name.
    pub async fn list(&self) -> BTreeMap<String, Proxy> {
        let proxies = self.inner.proxies.lock().await;
        proxies
            .iter()
            .map(|(name, entry)| (name.clone(), entry.to_proxy()))
            .collect()
    }

    /// One proxy.
    pub async fn get(&self, name: &str) -> Result<Proxy, ApiError> {
        let proxies = self.inner.proxies.lock().await;
        proxies
            .get(name)
            .map(ProxyEntry::to_proxy)
            .ok_or(ApiError::ProxyNotFound)
    }

    /// Creates a proxy (and starts it if enabled). A failed bind creates nothing.
    pub async fn create(&self, spec: NewProxy) -> Result<Proxy, ApiError> {
        if spec.name.is_empty() {
            return Err(ApiError::MissingField("name".into()));
        }
        if spec.upstream.is_empty() {
            return Err(ApiError::MissingField("upstream".into()));
        }
        let mut proxies = self.inner.proxies.lock().await;
        if proxies.contains_key(&spec.name) {
            return Err(ApiError::ProxyExists);
        }
        let mut entry = ProxyEntry::new(&spec);
        if spec.enabled {
            entry.start(&self.inner.shared).await?;
        }
        let proxy = entry.to_proxy();
        proxies.insert(spec.name, entry);
        Ok(proxy)
    }

    /// Applies a `PATCH /proxies/{name}` body.
    pub async fn update(&self, name: &str, body: &[u8]) -> Result<Proxy, ApiError> {
        let mut proxies = self.inner.proxies.lock().await;
        let entry = proxies.get_mut(name).ok_or(ApiError::ProxyNotFound)?;
        let update = request::proxy_update(body)?;
        let new_listen = update.listen.unwrap_or_else(|| entry.listen.clone());
        let new_upstream = update.upstream.unwrap_or_else(|| entry.upstream.clone());
        let resolved = listen::resolve(&new_listen)
            .await
            .map_err(ApiError::Listen)?;
        let was_enabled = entry.running.is_some();
        let listen_differs = resolved.reported().as_deref() != Some(entry.listen.as_str());
        if listen_differs || new_upstream != entry.upstream {
            entry.stop().await;
            entry.listen = new_listen;
            entry.upstream = new_upstream;
        }
        let want_enabled = update.enabled.unwrap_or(was_enabled);
        if want_enabled {
            entry.start(&self.inner.shared).await?;
        } else {
            entry.stop().await;
        }
        Ok(entry.to_proxy())
    }

    /// Deletes a proxy: its listener and connections close, its toxics go.
    pub async fn delete(&self, name: &str) -> Result<(), ApiError> {
        let mut proxies = self.inner.proxies.lock().await;
        let mut entry = proxies.remove(name).ok_or(ApiError::ProxyNotFound)?;
        entry.stop().await;
        Ok(())
    }

    /// Creates or replaces proxies in bulk (see the module docs of the API).
    /// On failure, returns the error with the proxies processed before it.
    pub async fn populate(
        &self,
        specs: Vec<NewProxy>,
    ) -> Result<Vec<Proxy>, (ApiError, Vec<Proxy>)> {
        for (index, spec) in specs.iter().enumerate() {
            if spec.name.is_empty() {
                return Err((
                    ApiError::MissingField(format!("name at proxy {}", index + 1)),
                    Vec::new(),
                ));
            }
            if spec.upstream.is_empty() {
                return Err((
                    ApiError::MissingField(format!("upstream at proxy {}", index + 1)),
                    Vec::new(),
                ));
            }
        }
        let mut proxies = self.inner.proxies.lock().await;
        let mut done = Vec::with_capacity(specs.len());
        for spec in specs {
            if let Some(existing) = proxies.get_mut(&spec.name) {
                let reported = listen::resolve(&spec.listen)
                    .await
                    .ok()
                    .and_then(|r| r.reported());
                if reported.as_deref() == Some(existing.listen.as_str())
                    && existing.upstream == spec.upstream
                {
                    done.push(existing.to_proxy());
                    continue;
                }
                existing.stop().await;
            }
            let mut entry = ProxyEntry::new(&spec);
            if spec.enabled
                && let Err(error) = entry.start(&self.inner.shared).await
            {
                return Err((error, done));
            }
            done.push(entry.to_proxy());
            proxies.insert(spec.name, entry);
        }
        Ok(done)
    }

    /// Enables every proxy and removes every toxic. Stops at the first proxy
    /// that cannot start, as Toxiproxy does.
    pub async fn reset(&self) -> Result<(), ApiError> {
        let mut proxies = self.inner.proxies.lock().await;
        for entry in proxies.values_mut() {
            entry.start(&self.inner.shared).await?;
            entry.toxics.clear();
            entry.publish();
        }
        Ok(())
    }

    /// The toxics of a proxy: upstream ones first, each in insertion order.
    pub async fn toxics(&self, proxy: &str) -> Result<Vec<Toxic>, ApiError> {
        let proxies = self.inner.proxies.lock().await;
        Ok(proxies
            .get(proxy)
            .ok_or(ApiError::ProxyNotFound)?
            .ordered_toxics())
    }

    /// One toxic.
    pub async fn toxic(&self, proxy: &str, name: &str) -> Result<Toxic, ApiError> {
        let proxies = self.inner.proxies.lock().await;
        let entry = proxies.get(proxy).ok_or(ApiError::ProxyNotFound)?;
        let index = entry.find_toxic(name)?;
        Ok(entry.toxics[index].toxic.clone())
    }

    /// Adds a toxic from a `POST /proxies/{proxy}/toxics` body; it applies to
    /// open connections at once.
    pub async fn add_toxic(&self, proxy: &str, body: &[u8]) -> Result<Toxic, ApiError> {
        let mut proxies = self.inner.proxies.lock().await;
        let entry = proxies.get_mut(proxy).ok_or(ApiError::ProxyNotFound)?;
        let draft = request::toxic_draft(body)?;
        let (stream, stream_text) = match &draft.stream {
            None => (Stream::Downstream, "downstream".to_string()),
            Some(text) => (
                Stream::parse(text).ok_or(ApiError::InvalidStream)?,
                text.clone(),
            ),
        };
        let type_name = draft.type_name.unwrap_or_default();
        let name = match draft.name {
            Some(name) if !name.is_empty() => name,
            _ => format!("{type_name}_{stream_text}"),
        };
        let defaults = ToxicKind::with_defaults(&type_name).ok_or(ApiError::InvalidToxicType)?;
        if entry.find_toxic(&name).is_ok() {
            return Err(ApiError::ToxicExists);
        }
        let kind = request::merge_attributes(&defaults, draft.attributes.as_ref())?;
        request::check_sane(&kind)?;
        let toxic = Toxic {
            name,
            stream,
            toxicity: draft.toxicity.unwrap_or(1.0),
            kind,
        };
        let id = self.next_revision();
        entry.toxics.push(ToxicEntry {
            toxic: toxic.clone(),
            id,
            revision: id,
        });
        entry.publish();
        Ok(toxic)
    }

    /// Updates a toxic's attributes (merged) and toxicity from a body.
    pub async fn update_toxic(
        &self,
        proxy: &str,
        name: &str,
        body: &[u8],
    ) -> Result<Toxic, ApiError> {
        let mut proxies = self.inner.proxies.lock().await;
        let entry = proxies.get_mut(proxy).ok_or(ApiError::ProxyNotFound)?;
        let index = entry.find_toxic(name)?;
        let (toxicity, attributes) = request::toxic_update(body)?;
        let current = &entry.toxics[index].toxic;
        let kind = request::merge_attributes(&current.kind, attributes.as_ref())?;
        request::check_sane(&kind)?;
        let revision = self.next_revision();
        let slot = &mut entry.toxics[index];
        slot.toxic.kind = kind;
        if let Some(toxicity) = toxicity {
            slot.toxic.toxicity = toxicity;
        }
        slot.revision = revision;
        let toxic = slot.toxic.clone();
        entry.publish();
        Ok(toxic)
    }

    /// Removes a toxic; what it held is flushed onward (a `timeout` toxic's
    /// connections close instead).
    pub async fn remove_toxic(&self, proxy: &str, name: &str) -> Result<(), ApiError> {
        let mut proxies = self.inner.proxies.lock().await;
        let entry = proxies.get_mut(proxy).ok_or(ApiError::ProxyNotFound)?;
        let index = entry.find_toxic(name)?;
        entry.toxics.remove(index);
        entry.publish();
        Ok(())
    }

    /// Stops every proxy: listeners and connections close. The proxies stay
    /// configured (disabled).
    pub async fn shutdown(&self) {
        let mut proxies = self.inner.proxies.lock().await;
        for entry in proxies.values_mut() {
            entry.stop().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::connection_ceiling;

    #[test]
    fn the_ceiling_leaves_the_reserve_and_counts_two_descriptors_per_connection() {
        assert_eq!(connection_ceiling(Some(20_000)), (20_000 - 128) / 2);
        assert_eq!(connection_ceiling(Some(1_024)), 448);
        // A limit below the reserve still relays one connection.
        assert_eq!(connection_ceiling(Some(100)), 1);
        assert_eq!(connection_ceiling(None), usize::MAX);
    }
}
