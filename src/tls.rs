//! TLS on the listener (`morapi serve --tls-cert FILE --tls-key FILE`): rustls on ring, HTTP/1.1.
//!
//! The certificate and key are read from PEM files at start and again on [`Tls::reload`] (SIGHUP
//! in `serve`). A reload swaps what new handshakes are offered; connections already open keep the
//! session they negotiated, and a reload that fails leaves the current certificate in place.
//! Handshakes run in their own tasks with a time limit, so a slow or silent client never holds up
//! the others, and a plain-HTTP request sent to the TLS port gets a short `400` saying so.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::{CryptoProvider, ring};
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;

/// How long a client has from connecting to finishing its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a certificate or key could not be used. Each names the file, since that is what the
/// operator has to fix.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS {what} file {path}: {source}")]
    Read { what: &'static str, path: String, source: io::Error },
    #[error("the TLS {what} file {path} is not valid PEM: {source}")]
    Pem { what: &'static str, path: String, source: pem::Error },
    #[error("the TLS certificate file {path} holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)")]
    NoCertificate { path: String },
    #[error("the TLS key file {path} holds no private key (expected PEM: PKCS#8, PKCS#1 or SEC1)")]
    NoKey { path: String },
    #[error("the TLS key {key} cannot be used with the certificate {cert}: {source}")]
    Unusable { cert: String, key: String, source: rustls::Error },
}

/// The server's TLS configuration and the handle to reload its certificate. Clones share it: a
/// reload through any clone is seen by every listener using it.
#[derive(Clone, Debug)]
pub struct Tls {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    current: Arc<CurrentKey>,
    config: Arc<ServerConfig>,
}

/// The certificate and key offered to new handshakes; swapped whole by a reload.
#[derive(Debug)]
struct CurrentKey(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for CurrentKey {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().unwrap_or_else(PoisonError::into_inner).clone())
    }
}

impl Tls {
    /// Reads the PEM certificate chain (leaf first) and private key; fails naming the file.
    pub fn load(cert: &Path, key: &Path) -> Result<Tls, TlsError> {
        // Ring explicitly, not the process-wide default: that one is ambiguous (a panic) when
        // another dependency turns on a second provider.
        let provider = Arc::new(ring::default_provider());
        let current = Arc::new(CurrentKey(RwLock::new(Arc::new(certified_key(cert, key, &provider)?))));
        let mut config = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|source| TlsError::Unusable { cert: shown(cert), key: shown(key), source })?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let inner =
            Inner { cert: cert.to_path_buf(), key: key.to_path_buf(), provider, current, config: Arc::new(config) };
        Ok(Tls { inner: Arc::new(inner) })
    }

    /// Reads the files again and offers what they hold to new handshakes. On an error nothing
    /// changes: the certificate in use stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let key = certified_key(&self.inner.cert, &self.inner.key, &self.inner.provider)?;
        *self.inner.current.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
        Ok(())
    }

    pub fn cert_path(&self) -> &Path {
        &self.inner.cert
    }

    pub fn key_path(&self) -> &Path {
        &self.inner.key
    }

    /// Runs the TLS handshake of one accepted connection, within its own time limit; `None` when
    /// it failed or took too long (logged at debug). The server loop calls it inside the
    /// connection's task, holding one of the `--max-connections` slots.
    pub async fn handshake(&self, tcp: TcpStream, peer: SocketAddr) -> Option<TlsStream<TcpStream>> {
        handshake(TlsAcceptor::from(self.inner.config.clone()), tcp, peer).await
    }
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

fn certified_key(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let read =
        |what, path: &Path| std::fs::read(path).map_err(|source| TlsError::Read { what, path: shown(path), source });
    let (cert_pem, key_pem) = (read("certificate", cert)?, read("key", key)?);
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Pem { what: "certificate", path: shown(cert), source })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate { path: shown(cert) });
    }
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|source| match source {
        pem::Error::NoItemsFound => TlsError::NoKey { path: shown(key) },
        source => TlsError::Pem { what: "key", path: shown(key), source },
    })?;
    CertifiedKey::from_der(chain, private, provider).map_err(|source| TlsError::Unusable {
        cert: shown(cert),
        key: shown(key),
        source,
    })
}

/// One connection's handshake; `None` when it failed (logged at debug: a failed handshake is the
/// client's business, and scanners make many).
async fn handshake(acceptor: TlsAcceptor, tcp: TcpStream, peer: SocketAddr) -> Option<TlsStream<TcpStream>> {
    let attempt = async {
        let mut first = [0u8; 1];
        // A TLS connection starts with a handshake record (0x16); a letter is an HTTP method.
        if tcp.peek(&mut first).await? == 1 && first[0].is_ascii_alphabetic() {
            refuse_plain_http(tcp).await;
            return Err(io::Error::new(io::ErrorKind::InvalidData, "plain HTTP sent to the TLS port"));
        }
        acceptor.accept(tcp).await
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, attempt).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(error)) => {
            tracing::debug!(%peer, %error, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            None
        }
    }
}

/// Answers a plain-HTTP request with a `400` that says to use HTTPS, then closes. The request
/// is read first (what has arrived of it) so that closing does not reset the connection before
/// the client has read the answer.
async fn refuse_plain_http(mut tcp: TcpStream) {
    const BODY: &str = "This port serves HTTPS: use https://\n";
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let mut buf = [0u8; 8192];
    let _ = tcp.read(&mut buf).await;
    if tcp.write_all(answer.as_bytes()).await.is_ok() && tcp.shutdown().await.is_ok() {
        // Until the client closes (bounded by the handshake timeout around this).
        while matches!(tcp.read(&mut buf).await, Ok(n) if n > 0) {}
    }
}
