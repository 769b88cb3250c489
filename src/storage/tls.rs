//! TLS to the database servers. The database URL asks for it with each engine's client
//! spelling — libpq's `sslmode` and `sslrootcert` for PostgreSQL, the MySQL client's `ssl-mode`
//! and `ssl-ca` for MariaDB/MySQL — which [`split`] takes out of the URL before the driver's own
//! parser sees it (tokio-postgres knows only three of libpq's modes; the `mysql` crate refuses
//! parameters it does not know). Both spellings map onto one [`Mode`]:
//!
//! | PostgreSQL    | MariaDB/MySQL     | encrypted              | certificate checked        |
//! |---------------|-------------------|------------------------|----------------------------|
//! | `disable`     | `DISABLED`        | no                     | –                          |
//! | `prefer`      | `PREFERRED`       | if the server offers it| no                         |
//! | `require`     | `REQUIRED`        | yes                    | no (but see below)         |
//! | `verify-ca`   | `VERIFY_CA`       | yes                    | chain to a trusted root    |
//! | `verify-full` | `VERIFY_IDENTITY` | yes                    | chain and the URL's host   |
//!
//! A URL that names neither parameter gets no TLS, as before TLS existed here (libpq would
//! `prefer`; see docs/security.md for why morapi does not). A CA file given with
//! `require` makes it `verify-ca` (libpq's rule); a CA file without a mode means the full check;
//! a CA file with a mode that never checks certificates (`disable`, `prefer`) is refused rather
//! than silently ignored. The verifying modes without a CA file trust the Mozilla roots compiled
//! into the binary (webpki-roots), as `sslrootcert=system` asks for explicitly.
//!
//! The PostgreSQL connector ([`MakeRustls`], with the `postgres` feature) is rustls with the ring
//! provider; MariaDB/MySQL uses the `mysql` crate's own rustls support, configured in `mysql.rs`.

use super::{Result, StoreError};
use std::path::PathBuf;

/// How much TLS a connection asks for, from none to the full check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// The roots a verifying mode trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// The certificates of a PEM file (`sslrootcert` / `ssl-ca`).
    File(PathBuf),
    /// The Mozilla root set compiled into the binary (webpki-roots).
    BuiltIn,
}

/// What a URL's TLS parameters ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub mode: Mode,
    /// Used only by the verifying modes.
    pub roots: Roots,
    /// The parameters as the URL gave them, for messages (`sslmode=verify-full, sslrootcert=…`).
    pub given: String,
    /// The engine's name of the CA file parameter, for messages.
    pub ca_param: &'static str,
}

/// One engine's spelling of the parameters.
pub struct Spelling {
    /// For messages: `PostgreSQL`, `MariaDB/MySQL`.
    engine: &'static str,
    /// The names of the mode parameter (the first is the one messages use).
    mode_keys: &'static [&'static str],
    /// The names of the CA file parameter.
    ca_keys: &'static [&'static str],
    /// Each mode's value; compared ignoring case.
    modes: [(&'static str, Mode); 5],
    /// The CA parameter's value that means the built-in roots (libpq's `sslrootcert=system`).
    system: Option<&'static str>,
    /// Parameters of the driver that would fight ours, and what to say instead.
    refused: &'static [(&'static str, &'static str)],
}

/// libpq's parameters.
pub const POSTGRES: Spelling = Spelling {
    engine: "PostgreSQL",
    mode_keys: &["sslmode"],
    ca_keys: &["sslrootcert"],
    modes: [
        ("disable", Mode::Disable),
        ("prefer", Mode::Prefer),
        ("require", Mode::Require),
        ("verify-ca", Mode::VerifyCa),
        ("verify-full", Mode::VerifyFull),
    ],
    system: Some("system"),
    refused: &[],
};

/// The MySQL client's parameters (`ssl-mode` or `ssl_mode`, as in an option file).
pub const MYSQL: Spelling = Spelling {
    engine: "MariaDB/MySQL",
    mode_keys: &["ssl-mode", "ssl_mode"],
    ca_keys: &["ssl-ca", "ssl_ca"],
    modes: [
        ("DISABLED", Mode::Disable),
        ("PREFERRED", Mode::Prefer),
        ("REQUIRED", Mode::Require),
        ("VERIFY_CA", Mode::VerifyCa),
        ("VERIFY_IDENTITY", Mode::VerifyFull),
    ],
    system: None,
    refused: &[
        ("root_cert_path", "ssl-ca"),
        ("danger_accept_invalid_certs", "ssl-mode=REQUIRED"),
        ("danger_skip_domain_validation", "ssl-mode=VERIFY_CA"),
    ],
};

/// Takes the TLS parameters out of `url`: the URL without them (every other parameter exactly
/// as written), and what they ask for (`None` when the URL names none of them). Refuses an
/// unknown mode, a parameter given twice, and a CA file that cannot be read or holds no
/// certificate, naming the parameter.
pub fn split(url: &str, spelling: &Spelling) -> Result<(String, Option<Tls>)> {
    let bad = |m: String| StoreError::Config(format!("{} URL: {m}", spelling.engine));
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => return Ok((url.to_string(), None)),
    };
    let mut kept = Vec::new();
    // Each as (the name the URL used, the value).
    let mut mode: Option<(String, String)> = None;
    let mut ca: Option<(String, String)> = None;
    for pair in query.split('&') {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(raw_key);
        let lower = key.to_ascii_lowercase();
        let slot = if spelling.mode_keys.contains(&lower.as_str()) {
            &mut mode
        } else if spelling.ca_keys.contains(&lower.as_str()) {
            &mut ca
        } else {
            if let Some((_, instead)) = spelling.refused.iter().find(|(k, _)| *k == lower) {
                return Err(bad(format!("the parameter {key} is not supported here: use {instead}")));
            }
            kept.push(pair);
            continue;
        };
        if slot.is_some() {
            return Err(bad(format!("the parameter {key} is given twice")));
        }
        *slot = Some((key, decode(raw_value)));
    }
    if mode.is_none() && ca.is_none() {
        return Ok((url.to_string(), None));
    }
    let stripped = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };

    let allowed = || spelling.modes.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ");
    let chosen = match &mode {
        None => None,
        Some((key, value)) => Some(
            spelling
                .modes
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(value))
                .map(|(_, m)| *m)
                .ok_or_else(|| bad(format!("invalid {key} {value:?}: use one of {}", allowed())))?,
        ),
    };
    let roots = match &ca {
        None => Roots::BuiltIn,
        Some((key, value)) if value.is_empty() => {
            return Err(bad(format!("{key} is empty: name a PEM file of CA certificates")));
        }
        Some((_, value)) if spelling.system.is_some_and(|s| s == value) => Roots::BuiltIn,
        Some((key, value)) => {
            let path = PathBuf::from(value);
            load_roots(&path).map_err(|e| bad(format!("{key}={value}: {e}")))?;
            Roots::File(path)
        }
    };
    let given = [&mode, &ca].into_iter().flatten().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ");
    let mode = match (chosen, &ca) {
        (Some(Mode::Disable | Mode::Prefer), Some((ca_key, _))) => {
            let (mode_key, value) = mode.as_ref().map(|(k, v)| (k.as_str(), v.as_str())).unwrap_or_default();
            return Err(bad(format!(
                "{ca_key} has no effect with {mode_key}={value}, which never checks the server's certificate: \
                 use {} (or {}), or drop {ca_key}",
                name_of(spelling, Mode::VerifyFull),
                name_of(spelling, Mode::VerifyCa),
            )));
        }
        // libpq: "if a root CA file exists, sslmode=require behaves like verify-ca".
        (Some(Mode::Require), Some(_)) => Mode::VerifyCa,
        (Some(m), _) => m,
        (None, _) => Mode::VerifyFull,
    };
    Ok((stripped, Some(Tls { mode, roots, given, ca_param: spelling.ca_keys[0] })))
}

/// An engine's name for a mode.
fn name_of(spelling: &Spelling, mode: Mode) -> &'static str {
    spelling.modes.iter().find(|(_, m)| *m == mode).map_or("", |(name, _)| name)
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// The certificates of a PEM file; an error says why there are none.
pub fn load_roots(
    path: &std::path::Path,
) -> std::result::Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let data = std::fs::read(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let certs = CertificateDer::pem_slice_iter(&data)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM file of certificates: {e}"))?;
    if certs.is_empty() {
        return Err("the file holds no PEM certificate".into());
    }
    Ok(certs)
}

/// The reason rustls gave, when TLS is why `error` happened: the driver's error wraps it, often
/// inside an `io::Error` (whose `source` skips the error it wraps, so that is looked into here).
pub fn failure(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        if let Some(inner) = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
                return Some(tls.to_string());
            }
            next = inner.source();
            continue;
        }
        next = e.source();
    }
    None
}

impl Tls {
    /// The refusal of a connection that TLS failed for `reason` (rustls's words), with what the
    /// URL asked for and, where rustls is terse, what it means.
    pub fn refused(&self, engine: &str, reason: &str) -> StoreError {
        let hint = if !reason.contains("UnknownIssuer") {
            String::new()
        } else {
            match &self.roots {
                Roots::File(path) => format!(" (no CA in {} issued the server's certificate)", path.display()),
                Roots::BuiltIn => format!(
                    " (none of the built-in root CAs issued the server's certificate: name its CA with {})",
                    self.ca_param
                ),
            }
        };
        StoreError::Config(format!("TLS to {engine} failed ({}): {reason}{hint}", self.given))
    }
}

#[cfg(feature = "postgres")]
pub use connector::MakeRustls;

/// The rustls connector for tokio-postgres.
#[cfg(feature = "postgres")]
mod connector {
    use super::{Mode, Roots, Tls};
    use crate::storage::{Result, StoreError};
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::client::{ClientConfig, WebPkiServerVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
    use std::future::Future;
    use std::io;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

    /// Makes the TLS connection of each PostgreSQL connection, checking the server's certificate
    /// as the mode asks. Cheap to clone (one shared rustls configuration).
    #[derive(Clone)]
    pub struct MakeRustls {
        config: Arc<ClientConfig>,
    }

    impl MakeRustls {
        /// The connector for a mode other than `Disable`.
        pub fn new(tls: &Tls) -> Result<MakeRustls> {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let refused = |e: rustls::Error| StoreError::Config(format!("cannot set up TLS ({}): {e}", tls.given));
            let verifier: Arc<dyn ServerCertVerifier> = match tls.mode {
                Mode::Disable | Mode::Prefer | Mode::Require => Arc::new(Unchecked(provider.clone())),
                Mode::VerifyCa => Arc::new(ChainOnly(webpki(tls, provider.clone())?)),
                Mode::VerifyFull => webpki(tls, provider.clone())?,
            };
            let mut config = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(refused)?
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth();
            // What libpq sends (PostgreSQL 17 requires it for `sslnegotiation=direct`).
            config.alpn_protocols = vec![b"postgresql".to_vec()];
            Ok(MakeRustls { config: Arc::new(config) })
        }
    }

    /// rustls's own verifier: the chain to the roots, the validity dates, and the host name.
    fn webpki(tls: &Tls, provider: Arc<CryptoProvider>) -> Result<Arc<WebPkiServerVerifier>> {
        let bad = |m: String| StoreError::Config(format!("cannot set up TLS ({}): {m}", tls.given));
        let mut roots = RootCertStore::empty();
        match &tls.roots {
            Roots::BuiltIn => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Roots::File(path) => {
                for cert in super::load_roots(path).map_err(bad)? {
                    roots.add(cert).map_err(|e| bad(format!("{}: {e}", path.display())))?;
                }
            }
        }
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider).build().map_err(|e| bad(e.to_string()))
    }

    /// `verify-ca`: the chain must lead to a trusted root; the name the certificate is for does
    /// not matter (rustls checks the chain first, so a name error means the chain was good).
    #[derive(Debug)]
    struct ChainOnly(Arc<WebPkiServerVerifier>);

    impl ServerCertVerifier for ChainOnly {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp: &[u8],
            now: UnixTime,
        ) -> std::result::Result<ServerCertVerified, rustls::Error> {
            match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
                )) => Ok(ServerCertVerified::assertion()),
                other => other,
            }
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
            self.0.verify_tls12_signature(message, cert, dss)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
            self.0.verify_tls13_signature(message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.supported_verify_schemes()
        }
    }

    /// `prefer` and `require`: any certificate is accepted (the connection is encrypted, not
    /// authenticated); the handshake's signatures are still checked against it.
    #[derive(Debug)]
    struct Unchecked(Arc<CryptoProvider>);

    impl ServerCertVerifier for Unchecked {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> std::result::Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }

    impl<S> MakeTlsConnect<S> for MakeRustls
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        type Stream = RustlsStream<S>;
        type TlsConnect = RustlsConnect;
        type Error = rustls::pki_types::InvalidDnsNameError;

        /// `domain` is the URL's host: the name (or IP address) the certificate must be for;
        /// empty for a Unix socket, where the server offers no TLS (so `prefer` goes on in plain
        /// text, and tokio-postgres refuses TLS without a host name before any handshake).
        fn make_tls_connect(&mut self, domain: &str) -> std::result::Result<RustlsConnect, Self::Error> {
            let name = if domain.is_empty() { None } else { Some(ServerName::try_from(domain.to_string())?) };
            Ok(RustlsConnect { name, connector: tokio_rustls::TlsConnector::from(self.config.clone()) })
        }
    }

    /// One connection's TLS handshake.
    pub struct RustlsConnect {
        name: Option<ServerName<'static>>,
        connector: tokio_rustls::TlsConnector,
    }

    impl<S> TlsConnect<S> for RustlsConnect
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        type Stream = RustlsStream<S>;
        type Error = io::Error;
        type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

        fn connect(self, stream: S) -> Self::Future {
            Box::pin(async move {
                let name = self.name.ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidInput, "no host name to check the certificate against")
                })?;
                Ok(RustlsStream(self.connector.connect(name, stream).await?))
            })
        }
    }

    /// An encrypted connection to PostgreSQL.
    pub struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

    impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
        fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_read(cx, buf)
        }
    }

    impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
        fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.0).poll_write(cx, buf)
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_shutdown(cx)
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
        }

        fn is_write_vectored(&self) -> bool {
            self.0.is_write_vectored()
        }
    }

    impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
        /// `tls-server-end-point` (RFC 5929): the hash of the server's certificate, so that SCRAM
        /// authentication fails if a man in the middle presented another one — a protection even
        /// where the certificate itself is not checked (`require`).
        fn channel_binding(&self) -> ChannelBinding {
            let (_, session) = self.0.get_ref();
            session
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|cert| super::end_point(cert.as_ref()))
                .map_or_else(ChannelBinding::none, ChannelBinding::tls_server_end_point)
        }
    }
}

/// The `tls-server-end-point` channel binding of a DER certificate: its hash with the hash of its
/// signature algorithm, SHA-256 for MD5 and SHA-1 (RFC 5929 §4.1). `None` for an algorithm that
/// names no single hash (RSASSA-PSS, Ed25519), as libpq.
#[cfg(feature = "postgres")]
fn end_point(der: &[u8]) -> Option<Vec<u8>> {
    use ring::digest::{SHA256, SHA384, SHA512, digest};
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm AlgorithmIdentifier, … }
    let (certificate, _) = der_element(der, 0x30)?;
    let (_, after_tbs) = der_element(certificate, 0x30)?;
    let (algorithm, _) = der_element(after_tbs, 0x30)?;
    let (oid, _) = der_element(algorithm, 0x06)?;
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01]; // 1.2.840.113549.1.1
    const ECDSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01]; // 1.2.840.10045.4.1
    const ECDSA_SHA2: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03]; // 1.2.840.10045.4.3
    let hash = match oid {
        [rest @ .., last] if rest == RSA => match last {
            0x04 | 0x05 | 0x0b => &SHA256, // MD5, SHA-1, SHA-256 with RSA
            0x0c => &SHA384,
            0x0d => &SHA512,
            _ => return None,
        },
        o if o == ECDSA_SHA1 => &SHA256,
        [rest @ .., last] if rest == ECDSA_SHA2 => match last {
            0x02 => &SHA256,
            0x03 => &SHA384,
            0x04 => &SHA512,
            _ => return None,
        },
        _ => return None,
    };
    Some(digest(hash, der).as_ref().to_vec())
}

/// The contents of the DER element at the start of `input` if its tag is `tag`, and what
/// follows it.
#[cfg(feature = "postgres")]
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = input.split_first()?;
    if first != tag {
        return None;
    }
    let (&len, rest) = rest.split_first()?;
    let (len, rest) = if len < 0x80 {
        (usize::from(len), rest)
    } else {
        let n = usize::from(len & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, rest) = rest.split_at(n);
        (bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b)), rest)
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(url: &str) -> std::result::Result<(String, Option<Tls>), String> {
        split(url, &POSTGRES).map_err(|e| e.to_string())
    }

    fn my(url: &str) -> std::result::Result<(String, Option<Tls>), String> {
        split(url, &MYSQL).map_err(|e| e.to_string())
    }

    /// A readable PEM file with one certificate (any will do for parsing).
    fn ca_file() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, TEST_CERT).expect("write");
        let path = path.display().to_string();
        (dir, path)
    }

    #[test]
    fn a_url_without_tls_parameters_is_left_alone() {
        for url in ["postgres://u:pw@h/db", "postgres://u@h/db?application_name=x&connect_timeout=3"] {
            assert_eq!(pg(url), Ok((url.to_string(), None)));
        }
        assert_eq!(
            my("mysql://root@h/db?prefer_socket=false"),
            Ok(("mysql://root@h/db?prefer_socket=false".into(), None))
        );
    }

    #[test]
    fn the_parameters_are_taken_out_and_the_others_kept_in_order() {
        let (url, tls) = pg("postgres://u@h/db?application_name=a%20b&sslmode=require&connect_timeout=3").expect("ok");
        assert_eq!(url, "postgres://u@h/db?application_name=a%20b&connect_timeout=3");
        let tls = tls.expect("tls");
        assert_eq!((tls.mode, tls.given.as_str()), (Mode::Require, "sslmode=require"));
        let (url, tls) = pg("postgres://u@h/db?sslmode=verify-full").expect("ok");
        assert_eq!(url, "postgres://u@h/db");
        assert_eq!(tls.map(|t| (t.mode, t.roots)), Some((Mode::VerifyFull, Roots::BuiltIn)));
    }

    #[test]
    fn each_mode_maps_and_mysql_accepts_any_case_and_both_spellings() {
        for (value, mode) in [
            ("disable", Mode::Disable),
            ("prefer", Mode::Prefer),
            ("verify-ca", Mode::VerifyCa),
            ("VERIFY-FULL", Mode::VerifyFull),
        ] {
            assert_eq!(
                pg(&format!("postgres://h/d?sslmode={value}")).ok().and_then(|(_, t)| t).map(|t| t.mode),
                Some(mode)
            );
        }
        for (query, mode) in [
            ("ssl-mode=disabled", Mode::Disable),
            ("SSL-MODE=Preferred", Mode::Prefer),
            ("ssl_mode=REQUIRED", Mode::Require),
            ("ssl-mode=verify_ca", Mode::VerifyCa),
            ("ssl-mode=VERIFY_IDENTITY", Mode::VerifyFull),
        ] {
            let (url, tls) = my(&format!("mysql://root@h/d?{query}&prefer_socket=false")).expect(query);
            assert_eq!(url, "mysql://root@h/d?prefer_socket=false");
            assert_eq!(tls.map(|t| t.mode), Some(mode), "{query}");
        }
    }

    #[test]
    fn invalid_values_name_the_parameter_and_the_allowed_values() {
        let e = pg("postgres://u:secret@h/d?sslmode=allow").expect_err("refused");
        assert_eq!(
            e,
            "PostgreSQL URL: invalid sslmode \"allow\": use one of disable, prefer, require, verify-ca, verify-full"
        );
        let e = my("mysql://root:secret@h/d?ssl-mode=on").expect_err("refused");
        assert_eq!(
            e,
            "MariaDB/MySQL URL: invalid ssl-mode \"on\": use one of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY"
        );
        assert!(pg("postgres://h/d?sslmode=require&sslmode=disable").expect_err("twice").contains("given twice"));
        assert!(my("mysql://h/d?root_cert_path=/x").expect_err("theirs").contains("use ssl-ca"));
        assert!(pg("postgres://h/d?sslrootcert=").expect_err("empty").contains("sslrootcert is empty"));
    }

    #[test]
    fn a_ca_file_must_be_readable_and_hold_a_certificate() {
        let e = pg("postgres://h/d?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem").expect_err("refused");
        assert!(e.starts_with("PostgreSQL URL: sslrootcert=/nonexistent/ca.pem: cannot read the file"), "{e}");
        let dir = tempfile::tempdir().expect("temp dir");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let e = my(&format!("mysql://h/d?ssl-ca={}", empty.display())).expect_err("refused");
        assert!(e.contains("holds no PEM certificate"), "{e}");
    }

    #[test]
    fn a_ca_file_decides_the_mode_where_the_url_does_not() {
        let (_dir, ca) = ca_file();
        let mode = |url: String| pg(&url).map(|(_, t)| t.map(|t| t.mode));
        assert_eq!(mode(format!("postgres://h/d?sslrootcert={ca}")), Ok(Some(Mode::VerifyFull)));
        assert_eq!(mode(format!("postgres://h/d?sslmode=require&sslrootcert={ca}")), Ok(Some(Mode::VerifyCa)));
        assert_eq!(mode(format!("postgres://h/d?sslmode=verify-ca&sslrootcert={ca}")), Ok(Some(Mode::VerifyCa)));
        let e = mode(format!("postgres://h/d?sslmode=prefer&sslrootcert={ca}")).expect_err("refused");
        assert!(e.contains("sslrootcert has no effect with sslmode=prefer"), "{e}");
        let e = my(&format!("mysql://h/d?ssl-mode=DISABLED&ssl-ca={ca}")).expect_err("refused");
        assert!(e.contains("use VERIFY_IDENTITY (or VERIFY_CA)"), "{e}");
        let (_, tls) = my(&format!("mysql://h/d?ssl-ca={ca}")).expect("ok");
        assert_eq!(tls.map(|t| (t.mode, t.roots)), Some((Mode::VerifyFull, Roots::File(ca.clone().into()))));
        let (_, tls) = pg("postgres://h/d?sslmode=verify-ca&sslrootcert=system").expect("ok");
        assert_eq!(tls.map(|t| t.roots), Some(Roots::BuiltIn));
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn the_channel_binding_hash_follows_the_signature_algorithm() {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let der = CertificateDer::from_pem_slice(TEST_CERT.as_bytes()).expect("PEM");
        // The certificate is signed with ecdsa-with-SHA256: its SHA-256.
        let expected = ring::digest::digest(&ring::digest::SHA256, der.as_ref());
        assert_eq!(end_point(der.as_ref()), Some(expected.as_ref().to_vec()));
        assert_eq!(end_point(&der.as_ref()[..20]), None, "a truncated certificate");
        assert_eq!(end_point(b""), None);
    }

    /// A self-signed P-256 certificate (`openssl req -x509 -newkey ec … -subj /CN=test -days 36500`).
    const TEST_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBdTCCARugAwIBAgIUcMEe//hWzQezuZ46rNCdwFBEZI0wCgYIKoZIzj0EAwIw
DzENMAsGA1UEAwwEdGVzdDAgFw0yNjExMzAxMDM2MjVaGA8yMTI2MTEwNjEwMzYy
NVowDzENMAsGA1UEAwwEdGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABKbd
+0M/jlCGBks+akBM5QFH1sg16gaITQE1pxOF7C37SmKbJ5oKZ/D9aNUylgfwowlq
3Hcpmvdi8YdVifY3KaWjUzBRMB0GA1UdDgQWBBRNU+phlnevGyq1ytIx/EJBZSAp
tTAfBgNVHSMEGDAWgBRNU+phlnevGyq1ytIx/EJBZSAptTAPBgNVHRMBAf8EBTAD
AQH/MAoGCCqGSM49BAMCA0gAMEUCIBjDLazhTXU4ZKq2KMtvRjdf3Ev1a1WJHIJZ
7H1u0xjoAiEA0P8MZOXX0M14X+kX14KCNVEJzm6ZFZfr+aH5TVJuniI=
-----END CERTIFICATE-----
";
}
