//! TLS with rustls (ring provider; no OpenSSL at run time): building a client configuration
//! from the user's settings, and a nonblocking TLS stream over a TCP socket that the IO thread
//! drives from readiness events.

use std::net::TcpStream;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme};
use super::nosignal::NoSignal;
use std::io::{self, IoSlice, Read, Write};
use std::sync::Arc;

/// What the user asked of TLS (`tls => { ca_file, cert_file, key_file, verify }`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// Trust only these CAs (PEM); the system's roots when absent.
    pub ca_file: Option<std::path::PathBuf>,
    /// Client certificate chain and key (PEM) for mutual TLS.
    pub cert_file: Option<std::path::PathBuf>,
    pub key_file: Option<std::path::PathBuf>,
    /// Verify the server's certificate and name (on unless explicitly turned off).
    pub verify: bool,
}

/// Plaintext rustls buffers before `write` reports the socket full: keeps write_timeout and
/// memory meaningful when the server stops reading.
const BUFFER_LIMIT: usize = 256 * 1024;

/// A ready-to-use rustls client configuration for `settings`. Errors name the file or setting
/// that is wrong (never its contents).
pub fn client_config(settings: &TlsSettings) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let builder = if settings.verify {
        let mut roots = RootCertStore::empty();
        match &settings.ca_file {
            Some(path) => {
                let certs = CertificateDer::pem_file_iter(path)
                    .map_err(|e| format!("TLS: cannot read ca_file {}: {e}", path.display()))?;
                for cert in certs {
                    let cert = cert.map_err(|e| format!("TLS: bad certificate in ca_file {}: {e}", path.display()))?;
                    roots
                        .add(cert)
                        .map_err(|e| format!("TLS: unusable certificate in ca_file {}: {e}", path.display()))?;
                }
                if roots.is_empty() {
                    return Err(format!("TLS: ca_file {} holds no certificate", path.display()));
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                for cert in found.certs {
                    let _ = roots.add(cert);
                }
                if roots.is_empty() {
                    return Err("TLS: no system root certificates found (install ca-certificates, or give ca_file)".into());
                }
            }
        }
        builder.with_root_certificates(roots)
    } else {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
    };
    let config = match (&settings.cert_file, &settings.key_file) {
        (Some(cert_file), Some(key_file)) => {
            let chain = CertificateDer::pem_file_iter(cert_file)
                .map_err(|e| format!("TLS: cannot read cert_file {}: {e}", cert_file.display()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("TLS: bad certificate in cert_file {}: {e}", cert_file.display()))?;
            if chain.is_empty() {
                return Err(format!("TLS: cert_file {} holds no certificate", cert_file.display()));
            }
            let key = PrivateKeyDer::from_pem_file(key_file)
                .map_err(|e| format!("TLS: cannot read a private key from key_file {}: {e}", key_file.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("TLS: client certificate and key do not fit together: {e}"))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => return Err("TLS: cert_file and key_file go together (mutual TLS needs both)".into()),
    };
    Ok(Arc::new(config))
}

/// The name the server's certificate must carry: a DNS name, or an IP address (checked against
/// the certificate's IP SANs).
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(h.to_string()).map_err(|_| format!("TLS: '{host}' is not a valid server name"))
}

/// `verify => 0`: accept any certificate (handshake signatures are still checked against the
/// certificate's key). Only for testing; documented as dangerous.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A TLS session over a nonblocking TCP socket.
pub struct TlsStream {
    pub sock: TcpStream,
    tls: ClientConnection,
}

/// Where a TLS handshake stands after some progress.
pub enum Handshake {
    Pending,
    Done,
    Failed(String),
}

impl TlsStream {
    pub fn new(sock: TcpStream, config: Arc<ClientConfig>, name: ServerName<'static>) -> Result<TlsStream, String> {
        let mut tls = ClientConnection::new(config, name).map_err(|e| format!("TLS: {e}"))?;
        tls.set_buffer_limit(Some(BUFFER_LIMIT));
        Ok(TlsStream { sock, tls })
    }

    /// Move the handshake forward as far as the socket allows.
    pub fn handshake(&mut self) -> Handshake {
        loop {
            if let Err(e) = self.flush() {
                if e.kind() != io::ErrorKind::WouldBlock {
                    return Handshake::Failed(format!("TLS handshake failed: {e}"));
                }
            }
            if !self.tls.is_handshaking() {
                return Handshake::Done;
            }
            match self.tls.read_tls(&mut self.sock) {
                Ok(0) => {
                    return Handshake::Failed(
                        "TLS handshake failed: the server closed the connection (is this port serving TLS?)".into(),
                    )
                }
                Ok(_) => {
                    if let Err(e) = self.tls.process_new_packets() {
                        // Send the alert explaining why, if the socket takes it.
                        let _ = self.flush();
                        return Handshake::Failed(format!("TLS handshake failed: {e}"));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.tls.wants_write() {
                        continue;
                    }
                    return Handshake::Pending;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Handshake::Failed(format!("TLS handshake failed: {e}")),
            }
        }
    }

    /// Write pending TLS records to the socket. `WouldBlock` when some remain.
    pub fn flush(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut NoSignal(&self.sock)) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "socket accepted no TLS bytes")),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Plaintext from the server; `Ok(0)` at the end of the stream, `WouldBlock` when the socket
    /// has nothing more.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.tls.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            match self.tls.read_tls(&mut self.sock) {
                Ok(0) => return Ok(0),
                Ok(_) => {
                    if let Err(e) = self.tls.process_new_packets() {
                        let _ = self.flush();
                        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("TLS: {e}")));
                    }
                    // Key updates or alerts may need answering.
                    match self.flush() {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Encrypt plaintext (as much as the session buffers) and write what the socket takes.
    pub fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let n = self.tls.writer().write_vectored(bufs)?;
        match self.flush() {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        if n == 0 && bufs.iter().any(|b| !b.is_empty()) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }
}
