//! TLS for the client: the rustls configuration (trusted roots, pinning, client certificate),
//! built once per run, and a TLS stream over an async TCP socket.
//!
//! Trust follows the Perl agents: webpki-roots by default; `ca_cert_file`/`ca_cert_dir`
//! replace them. A pinned fingerprint decides alone: the server certificate whose DER has
//! that SHA-256 is accepted even when no trusted CA signed it or its names do not match (as
//! the GLPI agent does with `--ssl-fingerprint`), and any other certificate is refused, even
//! a trusted one. `no_ssl_check` accepts every certificate (only when no pin is given).

use std::fs;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_io::Async;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore,
    SignatureScheme, SupportedCipherSuite,
};
use smol::io::{AsyncReadExt, AsyncWriteExt};

/// Largest certificate or key file read.
pub const MAX_PEM_FILE_BYTES: u64 = 1024 * 1024;
/// Most CA certificates loaded from `ca_cert_file` and `ca_cert_dir` together.
pub const MAX_CA_CERTS: usize = 1000;
/// Ciphertext read from the socket at a time.
const TLS_READ_BUF: usize = 8 * 1024;

/// The agents' TLS options (`--ca-cert-file`, `--ca-cert-dir`, `--no-ssl-check`,
/// `--ssl-fingerprint`, `--ssl-cert-file`).
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    pub ca_cert_file: Option<PathBuf>,
    pub ca_cert_dir: Option<PathBuf>,
    /// Accept any server certificate. The caller should say so loudly in the log.
    pub no_ssl_check: bool,
    /// `sha256:AB:CD:…`, `sha256$abcd…` or 64 bare hex digits, colons optional.
    pub ssl_fingerprint: Vec<String>,
    /// Client certificate chain and its private key (PKCS#8, RSA or EC) in one PEM file.
    pub ssl_cert_file: Option<PathBuf>,
}

/// The rustls configuration for `opts`, to be shared by every connection of the run.
pub fn client_config(opts: &TlsOptions) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::CryptoProvider {
        key_provider: &ClientKeys,
        ..rustls::crypto::ring::default_provider()
    });
    let pins = opts
        .ssl_fingerprint
        .iter()
        .map(|f| parse_fingerprint(f))
        .collect::<Result<Vec<_>, _>>()?;
    // Roots are only needed when the chain is checked at all.
    let webpki = if pins.is_empty() && !opts.no_ssl_check {
        let roots = load_roots(opts)?;
        let v = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| format!("TLS: cannot use the CA certificates: {e}"))?;
        Some(v)
    } else {
        None
    };
    let verifier = Verifier {
        webpki,
        pins,
        algs: provider.signature_verification_algorithms,
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let config = match &opts.ssl_cert_file {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let pem = read_pem_file(path)?;
            let chain = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if chain.is_empty() {
                return Err(format!("no certificate in {}", path.display()));
            }
            let key = PrivateKeyDer::from_pem_slice(&pem)
                .map_err(|e| format!("no usable private key in {}: {e}", path.display()))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                format!(
                    "TLS: cannot use the client certificate {}: {e}",
                    path.display()
                )
            })?
        }
    };
    Ok(Arc::new(config))
}

/// Loads client certificate keys: RSA or ECDSA (P-256, P-384), in PKCS#1, SEC1 or PKCS#8.
/// Ed25519 keys are refused: ring's Ed25519 signing code is 12 KB (armv7) to 25 KB (MIPS),
/// and the CAs that OCS and GLPI setups use for client certificates issue RSA or ECDSA.
#[derive(Debug)]
struct ClientKeys;

impl rustls::crypto::KeyProvider for ClientKeys {
    fn load_private_key(
        &self,
        key: PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn rustls::sign::SigningKey>, rustls::Error> {
        use rustls::crypto::ring::sign;
        if let Ok(rsa) = sign::RsaSigningKey::new(&key) {
            return Ok(Arc::new(rsa));
        }
        sign::any_ecdsa_type(&key).map_err(|_| {
            rustls::Error::General(
                "the private key is neither RSA nor ECDSA P-256/P-384 (Ed25519 is not supported)"
                    .into(),
            )
        })
    }
}

fn read_pem_file(path: &Path) -> Result<Vec<u8>, String> {
    let mut data = Vec::new();
    fs::File::open(path)
        .and_then(|f| f.take(MAX_PEM_FILE_BYTES + 1).read_to_end(&mut data))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if data.len() as u64 > MAX_PEM_FILE_BYTES {
        return Err(format!(
            "{} is larger than {MAX_PEM_FILE_BYTES} bytes",
            path.display()
        ));
    }
    Ok(data)
}

/// webpki-roots, or the certificates of `ca_cert_file` and `ca_cert_dir` when either is set.
fn load_roots(opts: &TlsOptions) -> Result<RootCertStore, String> {
    if opts.ca_cert_file.is_none() && opts.ca_cert_dir.is_none() {
        return Ok(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        });
    }
    let mut files: Vec<PathBuf> = opts.ca_cert_file.iter().cloned().collect();
    if let Some(dir) = &opts.ca_cert_dir {
        let entries =
            fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let mut names: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(is_ca_file_name)
            })
            .collect();
        names.sort();
        files.extend(names);
    }
    let mut roots = RootCertStore::empty();
    // The same CA often sits in a directory twice (`name.pem` and its `hash.0` link).
    let mut seen: Vec<[u8; 32]> = Vec::new();
    for path in &files {
        for cert in CertificateDer::pem_slice_iter(&read_pem_file(path)?) {
            let cert = cert.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let digest = sha256(&cert);
            if seen.contains(&digest) {
                continue;
            }
            if seen.len() >= MAX_CA_CERTS {
                log::warn!("more than {MAX_CA_CERTS} CA certificates; ignoring the rest");
                return Ok(roots);
            }
            seen.push(digest);
            if let Err(e) = roots.add(cert) {
                log::warn!("ignoring a CA certificate in {}: {e}", path.display());
            }
        }
    }
    if roots.is_empty() {
        return Err(format!(
            "no usable CA certificate in {}",
            files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(roots)
}

/// `*.pem`, `*.crt`, and OpenSSL's hash links (`5ed36f99.0`).
fn is_ca_file_name(name: &str) -> bool {
    if name.ends_with(".pem") || name.ends_with(".crt") {
        return true;
    }
    match name.split_once('.') {
        Some((hash, n)) => {
            hash.len() == 8
                && hash.bytes().all(|b| b.is_ascii_hexdigit())
                && !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// SHA-256 from the ring provider rustls already carries, so no hash code of our own.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let hash = match rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256 {
        SupportedCipherSuite::Tls13(s) => s.common.hash_provider,
        SupportedCipherSuite::Tls12(s) => s.common.hash_provider,
    };
    let mut out = [0u8; 32];
    let digest = hash.hash(data);
    let n = digest.as_ref().len().min(32);
    out[..n].copy_from_slice(&digest.as_ref()[..n]);
    out
}

/// A pinned certificate digest: `sha256:AB:CD…`, `sha256$abcd…` or bare hex, colons allowed.
pub fn parse_fingerprint(s: &str) -> Result<[u8; 32], String> {
    let t = s.trim();
    let hex = match t.find(['$', ':']) {
        Some(i) if t[..i].eq_ignore_ascii_case("sha256") => &t[i + 1..],
        Some(i) if t[..i].bytes().any(|b| !b.is_ascii_hexdigit()) => {
            return Err(format!(
                "unsupported fingerprint algorithm \"{}\" (only sha256)",
                &t[..i]
            ))
        }
        _ => t,
    };
    let digits: Vec<u8> = hex.bytes().filter(|&b| b != b':').collect();
    let bad = || format!("bad fingerprint \"{t}\": expected 64 hex digits of SHA-256");
    if digits.len() != 64 {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, pair) in digits.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).map_err(|_| bad())?;
        out[i] = u8::from_str_radix(s, 16).map_err(|_| bad())?;
    }
    Ok(out)
}

#[derive(Debug)]
struct Verifier {
    /// `None` when certificates are not checked against CAs (pins or `no_ssl_check`).
    webpki: Option<Arc<WebPkiServerVerifier>>,
    pins: Vec<[u8; 32]>,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if !self.pins.is_empty() {
            return if self.pins.contains(&sha256(end_entity)) {
                Ok(ServerCertVerified::assertion())
            } else {
                // Only this verifier produces this error: `error_message` names the pin.
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::ApplicationVerificationFailure,
                ))
            };
        }
        match &self.webpki {
            Some(v) => v.verify_server_cert(end_entity, intermediates, server_name, ocsp, now),
            None => Ok(ServerCertVerified::assertion()),
        }
    }

    // The handshake signature is checked whatever the trust decision: it proves the server
    // holds the key of the certificate it showed, which is what a pin relies on.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// A rustls error as a sentence about `host` (without the "TLS: " prefix).
pub fn error_message(host: &str, e: &rustls::Error) -> String {
    use CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::ApplicationVerificationFailure => {
                "certificate fingerprint does not match the --ssl-fingerprint given".into()
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                format!("the certificate of {host} is not valid for that name")
            }
            C::Expired | C::ExpiredContext { .. } => {
                format!("the certificate of {host} has expired")
            }
            C::NotValidYet | C::NotValidYetContext { .. } => {
                format!("the certificate of {host} is not valid yet (is the clock right?)")
            }
            other => format!("certificate for {host} not trusted ({other:?})"),
        },
        // What an https:// URL pointing at a plain HTTP port gets back.
        rustls::Error::InvalidMessage(_) => {
            format!("{host} does not answer in TLS on that port ({e})")
        }
        rustls::Error::AlertReceived(alert) => {
            format!("{host} refused the TLS session (alert {alert:?})")
        }
        other => format!("with {host}: {other}"),
    }
}

/// Cryptographic failure (a rustls error) or plain socket failure: the client tells them apart.
pub fn as_tls_error(e: &io::Error) -> Option<&rustls::Error> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

fn tls_io_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// A client TLS session over an async TCP socket. The caller puts timeouts around each call.
pub struct TlsStream {
    tcp: Async<TcpStream>,
    conn: ClientConnection,
    /// Ciphertext read but not yet taken by rustls: `buf[start..end]`.
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    out: Vec<u8>,
    eof: bool,
}

impl TlsStream {
    /// Starts a session with `host` (a name, or an IP address) and completes the handshake.
    pub async fn connect(
        tcp: Async<TcpStream>,
        config: Arc<ClientConfig>,
        host: &str,
    ) -> io::Result<TlsStream> {
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let conn = ClientConnection::new(config, name).map_err(tls_io_error)?;
        let mut s = TlsStream {
            tcp,
            conn,
            buf: vec![0; TLS_READ_BUF].into_boxed_slice(),
            start: 0,
            end: 0,
            out: Vec::new(),
            eof: false,
        };
        while s.conn.is_handshaking() {
            s.flush().await?;
            if !s.conn.is_handshaking() {
                break;
            }
            if s.eof {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed during the TLS handshake",
                ));
            }
            if let Err(e) = s.fill().await {
                // Tell the server why (rustls queued an alert); it may be gone already.
                let _ = s.flush().await;
                return Err(e);
            }
        }
        s.flush().await?;
        Ok(s)
    }

    /// Plaintext into `out`; 0 at the end of the stream.
    pub async fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(out) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // TCP closed without close_notify, as many servers do: the HTTP framing
                // (Content-Length, chunked) is what detects a cut body.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            if self.eof && self.start == self.end {
                return Ok(0);
            }
            self.flush().await?;
            self.fill().await?;
        }
    }

    pub async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        // rustls buffers plaintext up to a limit: hand it over in record-sized pieces.
        for piece in data.chunks(16 * 1024) {
            self.conn.writer().write_all(piece)?;
            self.flush().await?;
        }
        Ok(())
    }

    /// Sends what rustls has queued.
    async fn flush(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            self.out.clear();
            self.conn.write_tls(&mut self.out)?;
            self.tcp.write_all(&self.out).await?;
        }
        self.tcp.flush().await
    }

    /// Gives rustls more ciphertext, reading the socket when none is left over.
    async fn fill(&mut self) -> io::Result<()> {
        if self.start == self.end {
            let n = self.tcp.read(&mut self.buf).await?;
            self.start = 0;
            self.end = n;
            if n == 0 {
                self.eof = true;
                self.conn.read_tls(&mut &b""[..])?;
            }
        }
        if self.start < self.end {
            let n = self.conn.read_tls(&mut &self.buf[self.start..self.end])?;
            self.start += n;
        }
        self.conn
            .process_new_packets()
            .map(|_| ())
            .map_err(tls_io_error)
    }
}
