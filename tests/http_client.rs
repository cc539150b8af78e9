#![cfg(feature = "client")]
//! The HTTP client against small servers started on 127.0.0.1 by each test: the faults a real
//! server will not produce on demand (stalls, resets, oversized replies), proxies, Basic
//! authentication and TLS.

use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use uagent::http::{base64, Client, ClientOptions, HttpError, Phase, ProxySettings, Url};

/// Reads one request from a test server's side: the head as text, and a Content-Length body.
fn read_request(s: &mut impl Read) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => break,
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let len = head
        .lines()
        .find_map(|l| {
            let l = l.to_ascii_lowercase();
            l.strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = s.read_exact(&mut body);
    (head, body)
}

/// A server for the next `n` connections, one at a time: reads the request, then lets
/// `handle(index, stream, head)` answer. The requests come back through the channel.
fn serve<F>(n: usize, handle: F) -> (SocketAddr, mpsc::Receiver<(String, Vec<u8>)>)
where
    F: Fn(usize, &mut TcpStream, &str) + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for i in 0..n {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let (head, body) = read_request(&mut s);
            handle(i, &mut s, &head);
            let _ = tx.send((head, body));
        }
    });
    (addr, rx)
}

/// A server that sends `reply` to each of `n` requests and closes.
fn reply_with(n: usize, reply: &'static [u8]) -> (SocketAddr, mpsc::Receiver<(String, Vec<u8>)>) {
    serve(n, move |_, s, _| {
        let _ = s.write_all(reply);
    })
}

fn url(addr: SocketAddr, path: &str) -> Url {
    Url::parse(&format!("http://{addr}{path}")).unwrap()
}

fn client(timeout_ms: u64) -> Client {
    Client::new(ClientOptions {
        timeout: Duration::from_millis(timeout_ms),
        ..Default::default()
    })
    .unwrap()
}

fn block<T>(f: impl Future<Output = T>) -> T {
    smol::block_on(f)
}

#[test]
fn post_sends_head_and_body_and_returns_a_content_length_reply() {
    let (addr, rx) = reply_with(
        1,
        b"HTTP/1.1 200 OK\r\nContent-Type: application/x-compress\r\nContent-Length: 5\r\n\r\nhello",
    );
    let c = client(5000);
    let resp = block(c.post(
        &url(addr, "/ocsinventory"),
        "application/x-compress",
        b"\x78\x9cdata",
        &[("Pragma", "no-cache")],
    ))
    .unwrap();
    assert_eq!((resp.status, resp.reason.as_str()), (200, "OK"));
    assert_eq!(resp.header("content-type"), Some("application/x-compress"));
    assert_eq!(resp.body, b"hello");
    let (head, body) = rx.recv().unwrap();
    assert!(
        head.starts_with("POST /ocsinventory HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(head.contains(&format!("\r\nHost: {addr}\r\n")), "{head}");
    assert!(
        head.contains("\r\nContent-Type: application/x-compress\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nContent-Length: 6\r\n"), "{head}");
    assert!(head.contains("\r\nPragma: no-cache\r\n"), "{head}");
    assert!(head.contains("\r\nUser-Agent: uagent/"), "{head}");
    assert!(
        !head.contains("Authorization"),
        "no credentials before a 401: {head}"
    );
    assert_eq!(body, b"\x78\x9cdata");
}

#[test]
fn large_post_body_arrives_whole() {
    let (addr, rx) = reply_with(1, b"HTTP/1.1 204 No Content\r\n\r\n");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let resp = block(client(5000).post(&url(addr, "/"), "application/xml", &data, &[])).unwrap();
    assert_eq!(resp.status, 204);
    assert_eq!(rx.recv().unwrap().1, data);
}

#[test]
fn chunked_reply_is_decoded() {
    let (addr, _rx) = reply_with(
        1,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n7\r\n, world\r\n0\r\nX-T: 1\r\n\r\n",
    );
    let resp = block(client(5000).get(&url(addr, "/"), &[])).unwrap();
    assert_eq!(resp.body, b"hello, world");
}

#[test]
fn reply_without_length_is_read_until_the_server_closes() {
    let (addr, _rx) = reply_with(1, b"HTTP/1.0 200 OK\r\n\r\n<REPLY/>");
    let resp = block(client(5000).get(&url(addr, "/"), &[])).unwrap();
    assert_eq!(resp.body, b"<REPLY/>");
}

#[test]
fn interim_100_continue_is_skipped() {
    let (addr, _rx) = reply_with(
        1,
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    );
    let resp = block(client(5000).get(&url(addr, "/"), &[])).unwrap();
    assert_eq!((resp.status, resp.body.as_slice()), (200, &b"ok"[..]));
}

#[test]
fn no_content_reply_returns_without_waiting_for_the_server_to_close() {
    let (addr, _rx) = serve(1, |_, s, _| {
        let _ = s.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n");
        thread::sleep(Duration::from_secs(3));
    });
    let t = Instant::now();
    let resp = block(client(2000).get(&url(addr, "/"), &[])).unwrap();
    assert_eq!((resp.status, resp.body.len()), (204, 0));
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "took {:?}",
        t.elapsed()
    );
}

const UNAUTHORIZED: &[u8] = b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"OCS Inventory\"\r\nContent-Length: 4\r\n\r\nnope";

#[test]
fn basic_auth_is_sent_after_a_401_and_at_once_on_later_requests() {
    let want = format!("Authorization: Basic {}", base64(b"agent:s3cret"));
    let (addr, rx) = serve(3, move |_, s, head| {
        let reply: &[u8] = if head.contains(&want) {
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        } else {
            UNAUTHORIZED
        };
        let _ = s.write_all(reply);
    });
    let c = Client::new(ClientOptions {
        user: Some("agent".into()),
        password: Some("s3cret".into()),
        timeout: Duration::from_secs(5),
        ..Default::default()
    })
    .unwrap();
    let resp = block(c.post(&url(addr, "/"), "application/xml", b"<x/>", &[])).unwrap();
    assert_eq!((resp.status, resp.body.as_slice()), (200, &b"ok"[..]));
    let first = rx.recv().unwrap();
    let second = rx.recv().unwrap();
    assert!(!first.0.contains("Authorization"));
    assert!(
        second
            .0
            .contains("Authorization: Basic YWdlbnQ6czNjcmV0\r\n"),
        "{}",
        second.0
    );
    assert_eq!(
        second.1, b"<x/>",
        "the body is sent again with the credentials"
    );
    // The next request to the same server does not wait for another 401.
    let resp = block(c.get(&url(addr, "/again"), &[])).unwrap();
    assert_eq!(resp.status, 200);
    assert!(rx.recv().unwrap().0.contains("Authorization: Basic"));
}

#[test]
fn a_401_without_credentials_names_the_realm_and_the_options() {
    let (addr, _rx) = reply_with(1, UNAUTHORIZED);
    let err = block(client(5000).get(&url(addr, "/"), &[])).unwrap_err();
    assert_eq!(
        err,
        HttpError::Unauthorized {
            server: addr.to_string(),
            realm: Some("OCS Inventory".into()),
            sent_credentials: false
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{addr} requires authentication (realm \"OCS Inventory\"): give --user and --password"
        )
    );
}

#[test]
fn a_401_after_sending_credentials_is_an_error_naming_the_realm() {
    let (addr, rx) = reply_with(2, UNAUTHORIZED);
    let c = Client::new(ClientOptions {
        user: Some("agent".into()),
        password: Some("wrong".into()),
        ..Default::default()
    })
    .unwrap();
    let err = block(c.get(&url(addr, "/"), &[])).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{addr} refused the user and password given (realm \"OCS Inventory\")")
    );
    assert_eq!(rx.iter().take(2).count(), 2, "exactly one retry");
}

#[test]
fn server_stalling_before_the_reply_times_out_naming_the_phase() {
    let (addr, _rx) = serve(1, |_, _, _| thread::sleep(Duration::from_secs(3)));
    let t = Instant::now();
    let err = block(client(300).get(&url(addr, "/"), &[])).unwrap_err();
    assert!(
        matches!(
            err,
            HttpError::Timeout {
                phase: Phase::Head,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("timed out after 0.3 s waiting for the reply from {addr}")
    );
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[test]
fn server_stalling_in_the_body_times_out_in_the_body_phase() {
    let (addr, _rx) = serve(1, |_, s, _| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
        thread::sleep(Duration::from_secs(3));
    });
    let err = block(client(300).get(&url(addr, "/"), &[])).unwrap_err();
    assert!(
        matches!(
            err,
            HttpError::Timeout {
                phase: Phase::Body,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_trickling_server_is_stopped_by_the_total_timeout() {
    let (addr, _rx) = serve(1, |_, s, _| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
        for _ in 0..40 {
            thread::sleep(Duration::from_millis(50));
            if s.write_all(b"x").is_err() {
                return;
            }
        }
    });
    let t = Instant::now();
    let err = block(client(500).get(&url(addr, "/"), &[])).unwrap_err();
    assert!(matches!(err, HttpError::Timeout { .. }), "{err:?}");
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_millis(1500),
        "{took:?}"
    );
}

#[test]
fn connection_reset_mid_body_is_an_error_not_a_short_body() {
    let (addr, _rx) = serve(1, |_, s, _| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly this");
        thread::sleep(Duration::from_millis(100));
        // SO_LINGER 0: close() sends a RST instead of a FIN.
        let linger = nix::libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        let _ = nix::sys::socket::setsockopt(&*s, nix::sys::socket::sockopt::Linger, &linger);
    });
    let err = block(client(5000).get(&url(addr, "/"), &[])).unwrap_err();
    match &err {
        HttpError::Io {
            phase: Phase::Body,
            reason,
            ..
        } => {
            assert_eq!(reason, "connection reset by peer")
        }
        HttpError::Closed {
            phase: Phase::Body, ..
        } => {}
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn connection_closed_mid_body_is_an_error_not_a_short_body() {
    let (addr, _rx) = reply_with(
        1,
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly this",
    );
    let err = block(client(5000).get(&url(addr, "/"), &[])).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{addr} closed the connection before the end of the reply body")
    );
}

#[test]
fn ten_thousand_headers_are_refused_at_the_header_limit() {
    let (addr, _rx) = serve(1, |_, s, _| {
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..10_000 {
            head.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        let _ = s.write_all(&head);
    });
    let err = block(client(5000).get(&url(addr, "/"), &[])).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{addr} sent a bad reply: more than 64 header fields")
    );
}

#[test]
fn a_head_longer_than_the_limit_is_refused() {
    let (addr, _rx) = serve(1, |_, s, _| {
        let head = format!("HTTP/1.1 200 OK\r\nX-Big: {}\r\n\r\n", "a".repeat(20_000));
        let _ = s.write_all(head.as_bytes());
    });
    let err = block(client(5000).get(&url(addr, "/"), &[])).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{addr} sent a bad reply: head longer than 16384 bytes")
    );
}

#[test]
fn a_huge_content_length_is_refused_before_reading_the_body() {
    let (addr, _rx) = serve(1, |_, s, _| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n");
        thread::sleep(Duration::from_secs(3));
    });
    let t = Instant::now();
    let err = block(client(2000).get(&url(addr, "/"), &[])).unwrap_err();
    assert_eq!(
        err,
        HttpError::BodyTooLarge {
            peer: addr.to_string(),
            limit: uagent::http::DEFAULT_MAX_BODY,
            announced: Some(99_999_999_999)
        }
    );
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[test]
fn chunked_and_unframed_bodies_stop_at_max_body() {
    let (addr, _rx) = reply_with(
        2,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n",
    );
    let c = Client::new(ClientOptions {
        max_body: 10,
        ..Default::default()
    })
    .unwrap();
    let err = block(c.get(&url(addr, "/"), &[])).unwrap_err();
    assert!(
        matches!(
            err,
            HttpError::BodyTooLarge {
                limit: 10,
                announced: None,
                ..
            }
        ),
        "{err:?}"
    );
    let (addr, _rx) = reply_with(1, b"HTTP/1.0 200 OK\r\n\r\n0123456789abcdef");
    let err = block(c.get(&url(addr, "/"), &[])).unwrap_err();
    assert!(
        matches!(err, HttpError::BodyTooLarge { limit: 10, .. }),
        "{err:?}"
    );
}

#[test]
fn garbage_instead_of_a_reply_is_a_protocol_error() {
    let (addr, _rx) = reply_with(1, b"SSH-2.0-OpenSSH_9.6\r\n");
    let err = block(client(5000).get(&url(addr, "/"), &[])).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{addr} sent a bad reply: malformed status line")
    );
}

#[test]
fn refused_connection_names_the_address() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = block(client(5000).get(&url(addr, "/"), &[])).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("cannot connect to {addr}: connection refused")
    );
}

#[test]
fn header_injection_in_extra_headers_is_refused_before_connecting() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = block(client(5000).get(&url(addr, "/"), &[("X", "a\r\nEvil: 1")])).unwrap_err();
    assert!(matches!(err, HttpError::Config(_)), "{err:?}");
}

#[test]
fn plain_http_through_a_proxy_uses_the_absolute_form_and_proxy_credentials() {
    let (proxy, rx) = reply_with(1, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nvia");
    let c = Client::new(ClientOptions {
        proxy: ProxySettings {
            http: Some(format!("http://pu:pp@{proxy}")),
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    let target = Url::parse("http://ocs.example:8080/ocsinventory").unwrap();
    let resp = block(c.get(&target, &[])).unwrap();
    assert_eq!(resp.body, b"via");
    let head = rx.recv().unwrap().0;
    assert!(
        head.starts_with("GET http://ocs.example:8080/ocsinventory HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nHost: ocs.example:8080\r\n"), "{head}");
    assert!(head.contains(&format!(
        "\r\nProxy-Authorization: Basic {}\r\n",
        base64(b"pu:pp")
    )));
}

#[test]
fn proxy_407_is_a_clear_error() {
    let (proxy, _rx) = reply_with(
        1,
        b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
    );
    let c = Client::new(ClientOptions {
        proxy: ProxySettings::from_env(Some(&proxy.to_string()), |_| None),
        ..Default::default()
    })
    .unwrap();
    let err = block(c.get(&Url::parse("http://ocs.example/").unwrap(), &[])).unwrap_err();
    assert_eq!(
        err,
        HttpError::ProxyAuth {
            proxy: proxy.to_string(),
            sent_credentials: false
        }
    );
}

#[test]
fn no_proxy_hosts_are_reached_directly() {
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (addr, _rx) = reply_with(1, b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\ndirect");
    let env = |name: &str| match name {
        "http_proxy" => Some(format!("http://{dead}")),
        "NO_PROXY" => Some("localhost, 127.0.0.0/8".to_string()),
        _ => None,
    };
    let c = Client::new(ClientOptions {
        proxy: ProxySettings::from_env(None, env),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(block(c.get(&url(addr, "/"), &[])).unwrap().body, b"direct");
}

#[test]
fn proxy_settings_come_from_the_option_else_from_the_environment() {
    let env = |name: &str| match name {
        "http_proxy" => Some("proxy.lan:3128".to_string()),
        "HTTP_PROXY" => Some("http://httpoxy:1".to_string()),
        "HTTPS_PROXY" => Some("http://sproxy:8080".to_string()),
        "no_proxy" => Some(" ".to_string()),
        "NO_PROXY" => Some(".lan,10.0.0.0/8".to_string()),
        _ => None,
    };
    let p = ProxySettings::from_env(None, env);
    assert_eq!(p.http.as_deref(), Some("proxy.lan:3128"));
    assert_eq!(p.https.as_deref(), Some("http://sproxy:8080"));
    assert_eq!(
        p.no_proxy,
        vec![".lan".to_string(), "10.0.0.0/8".to_string()]
    );
    let p = ProxySettings::from_env(Some("http://cli:8080"), env);
    assert_eq!(p.http.as_deref(), Some("http://cli:8080"));
    assert_eq!(p.https.as_deref(), Some("http://cli:8080"));
    assert!(
        p.no_proxy.is_empty(),
        "--proxy ignores the environment, as the Perl agents do"
    );
    assert_eq!(
        ProxySettings::from_env(Some(""), |_| None),
        ProxySettings::default()
    );
}

#[test]
fn https_proxies_and_bad_proxy_urls_are_refused_up_front() {
    for bad in ["https://p:3128", "ftp://p", "http://p:99999"] {
        let r = Client::new(ClientOptions {
            proxy: ProxySettings {
                https: Some(bad.into()),
                ..Default::default()
            },
            ..Default::default()
        });
        assert!(matches!(r, Err(HttpError::Config(_))), "{bad}");
    }
}

#[cfg(not(feature = "tls"))]
#[test]
fn https_without_the_tls_feature_is_a_clear_error() {
    let err =
        block(client(1000).get(&Url::parse("https://127.0.0.1:1/").unwrap(), &[])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot reach https://127.0.0.1:1/: this uagent was built without TLS (the `tls` feature)"
    );
}

#[cfg(feature = "tls")]
mod tls {
    use super::*;
    use std::io;
    use std::net::Shutdown;
    use std::path::PathBuf;
    use std::sync::Arc;

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use uagent::http::tls::{parse_fingerprint, sha256};
    use uagent::http::TlsOptions;

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tls")
            .join(name)
    }

    fn certs(name: &str) -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_file_iter(fixture(name))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// A TLS server for `n` connections with the `name` certificate, requiring a client
    /// certificate from the test CA when `client_auth` is set.
    fn tls_server(n: usize, name: &str, client_auth: bool) -> (SocketAddr, mpsc::Receiver<String>) {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if client_auth {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(certs("ca.pem").remove(0)).unwrap();
            let v = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(v)
        } else {
            builder.with_no_client_auth()
        };
        let key = PrivateKeyDer::from_pem_file(fixture(&format!("{name}.key"))).unwrap();
        let config = Arc::new(
            builder
                .with_single_cert(certs(&format!("{name}.pem")), key)
                .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for _ in 0..n {
                let Ok((tcp, _)) = listener.accept() else {
                    return;
                };
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
                let conn = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let (head, _) = read_request(&mut tls);
                if !head.is_empty() {
                    let _ = tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure");
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                }
                let _ = tx.send(head);
            }
        });
        (addr, rx)
    }

    fn https(addr: SocketAddr) -> Url {
        Url::parse(&format!("https://{addr}/")).unwrap()
    }

    fn tls_client(tls: TlsOptions) -> Client {
        Client::new(ClientOptions {
            tls,
            timeout: Duration::from_secs(5),
            ..Default::default()
        })
        .unwrap()
    }

    fn trusting_test_ca() -> TlsOptions {
        TlsOptions {
            ca_cert_file: Some(fixture("ca.pem")),
            ..Default::default()
        }
    }

    #[test]
    fn sha256_matches_fips_180_vectors() {
        let hex = |d: [u8; 32]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(sha256(&vec![b'a'; 1_000_000])),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
    }

    #[test]
    fn fingerprints_are_read_in_every_agent_spelling() {
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let want = sha256(b"abc");
        let colons = hex
            .as_bytes()
            .chunks(2)
            .map(|p| std::str::from_utf8(p).unwrap().to_ascii_uppercase())
            .collect::<Vec<_>>()
            .join(":");
        for spelling in [
            format!("sha256${hex}"),
            format!("SHA256:{colons}"),
            format!("sha256:{hex}"),
            colons.clone(),
            hex.to_string(),
            format!(" sha256${hex} "),
        ] {
            assert_eq!(parse_fingerprint(&spelling), Ok(want), "{spelling}");
        }
        assert!(parse_fingerprint(&format!("sha1${}", &hex[..40]))
            .unwrap_err()
            .contains("only sha256"));
        assert!(parse_fingerprint(&hex[..62]).is_err());
        assert!(parse_fingerprint(&format!("{}zz", &hex[..62])).is_err());
        let r = Client::new(ClientOptions {
            tls: TlsOptions {
                ssl_fingerprint: vec!["sha256$1234".into()],
                ..Default::default()
            },
            ..Default::default()
        });
        assert!(matches!(r, Err(HttpError::Config(_))));
    }

    #[test]
    fn https_with_the_test_ca_as_ca_cert_file_works() {
        let (addr, rx) = tls_server(1, "server", false);
        let resp = block(tls_client(trusting_test_ca()).get(&https(addr), &[])).unwrap();
        assert_eq!(resp.body, b"secure");
        assert!(rx.recv().unwrap().contains(&format!("Host: {addr}\r\n")));
    }

    #[test]
    fn https_with_a_host_name_uses_sni_and_checks_that_name() {
        let (addr, _rx) = tls_server(1, "server", false);
        let u = Url::parse(&format!("https://localhost:{}/", addr.port())).unwrap();
        assert_eq!(
            block(tls_client(trusting_test_ca()).get(&u, &[]))
                .unwrap()
                .body,
            b"secure"
        );
    }

    #[test]
    fn unknown_ca_is_reported_as_not_trusted() {
        let (addr, _rx) = tls_server(1, "server", false);
        let err = block(tls_client(TlsOptions::default()).get(&https(addr), &[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "TLS: certificate for 127.0.0.1 not trusted (UnknownIssuer)"
        );
    }

    #[test]
    fn ca_cert_dir_replaces_the_default_roots() {
        let dir = std::env::temp_dir().join(format!("uagent-ca-dir-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(fixture("other-ca.pem"), dir.join("other.pem")).unwrap();
        std::fs::write(dir.join("README"), "not a certificate").unwrap();
        let (addr, _rx) = tls_server(2, "server", false);
        let opts = TlsOptions {
            ca_cert_dir: Some(dir.clone()),
            ..Default::default()
        };
        let err = block(tls_client(opts.clone()).get(&https(addr), &[])).unwrap_err();
        assert!(
            err.to_string().contains("not trusted (UnknownIssuer)"),
            "{err}"
        );
        // The test CA under an OpenSSL hash name, next to the unrelated one.
        std::fs::copy(fixture("ca.pem"), dir.join("0a1b2c3d.0")).unwrap();
        let resp = block(tls_client(opts).get(&https(addr), &[]));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(resp.unwrap().body, b"secure");
    }

    #[test]
    fn https_to_a_plain_http_port_says_the_server_does_not_speak_tls() {
        // Answers at once, as a server does to a ClientHello it takes for a bad request.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
                thread::sleep(Duration::from_secs(1));
            }
        });
        let err = block(tls_client(trusting_test_ca()).get(&https(addr), &[])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("TLS: 127.0.0.1 does not answer in TLS on that port"),
            "{err}"
        );
    }

    #[test]
    fn a_ca_file_without_certificates_is_a_config_error() {
        let r = Client::new(ClientOptions {
            tls: TlsOptions {
                ca_cert_file: Some(fixture("README.md")),
                ..Default::default()
            },
            ..Default::default()
        });
        let Err(HttpError::Config(msg)) = r else {
            panic!("accepted a CA file with no certificate")
        };
        assert!(msg.contains("no usable CA certificate"), "{msg}");
    }

    #[test]
    fn certificate_for_another_name_is_refused() {
        let (addr, _rx) = tls_server(1, "wrongname", false);
        let err = block(tls_client(trusting_test_ca()).get(&https(addr), &[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "TLS: the certificate of 127.0.0.1 is not valid for that name"
        );
    }

    #[test]
    fn a_pinned_fingerprint_accepts_an_untrusted_certificate_and_refuses_others() {
        let pin = sha256(&certs("wrongname.pem")[0]);
        let pin = format!(
            "sha256${}",
            pin.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let (addr, _rx) = tls_server(2, "wrongname", false);
        let pinned = TlsOptions {
            ssl_fingerprint: vec![format!("sha256${}", "00".repeat(32)), pin],
            ..Default::default()
        };
        let resp = block(tls_client(pinned).get(&https(addr), &[])).unwrap();
        assert_eq!(resp.body, b"secure");
        let other = sha256(&certs("server.pem")[0]);
        let other: String = other.iter().map(|b| format!("{b:02X}")).collect();
        let wrong_pin = TlsOptions {
            ssl_fingerprint: vec![other],
            ca_cert_file: Some(fixture("ca.pem")),
            ..Default::default()
        };
        let err = block(tls_client(wrong_pin).get(&https(addr), &[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "TLS: certificate fingerprint does not match the --ssl-fingerprint given"
        );
    }

    #[test]
    fn no_ssl_check_accepts_an_untrusted_certificate() {
        let (addr, _rx) = tls_server(1, "wrongname", false);
        let opts = TlsOptions {
            no_ssl_check: true,
            ..Default::default()
        };
        assert_eq!(
            block(tls_client(opts).get(&https(addr), &[])).unwrap().body,
            b"secure"
        );
    }

    #[test]
    fn client_certificate_from_one_pem_file_is_presented() {
        let (addr, rx) = tls_server(2, "server", true);
        let err = block(tls_client(trusting_test_ca()).get(&https(addr), &[])).unwrap_err();
        assert!(matches!(err, HttpError::Tls { .. }), "{err:?}");
        assert_eq!(
            rx.recv().unwrap(),
            "",
            "no request got through without a certificate"
        );
        let opts = TlsOptions {
            ssl_cert_file: Some(fixture("client-bundle.pem")),
            ..trusting_test_ca()
        };
        assert_eq!(
            block(tls_client(opts).get(&https(addr), &[])).unwrap().body,
            b"secure"
        );
    }

    #[test]
    fn rsa_client_certificate_is_presented() {
        let (addr, _rx) = tls_server(1, "server", true);
        let opts = TlsOptions {
            ssl_cert_file: Some(fixture("client-rsa-bundle.pem")),
            ..trusting_test_ca()
        };
        assert_eq!(
            block(tls_client(opts).get(&https(addr), &[])).unwrap().body,
            b"secure"
        );
    }

    #[test]
    fn an_ed25519_client_key_is_refused_with_a_reason() {
        let r = Client::new(ClientOptions {
            tls: TlsOptions {
                ssl_cert_file: Some(fixture("client-ed25519-bundle.pem")),
                ..Default::default()
            },
            ..Default::default()
        });
        let Err(HttpError::Config(msg)) = r else {
            panic!("accepted an Ed25519 client key")
        };
        assert!(msg.contains("Ed25519 is not supported"), "{msg}");
    }

    #[test]
    fn a_missing_client_key_is_a_config_error() {
        let r = Client::new(ClientOptions {
            tls: TlsOptions {
                ssl_cert_file: Some(fixture("server.pem")),
                ..Default::default()
            },
            ..Default::default()
        });
        let Err(HttpError::Config(msg)) = r else {
            panic!("accepted a certificate without its key")
        };
        assert!(msg.contains("no usable private key"), "{msg}");
    }

    /// A CONNECT proxy for one tunnel; with `credentials` it wants them first (407 otherwise).
    fn connect_proxy(credentials: Option<&'static [u8]>) -> (SocketAddr, mpsc::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let Ok((mut client, _)) = listener.accept() else {
                return;
            };
            let (head, _) = read_request(&mut client);
            let _ = tx.send(head.clone());
            if let Some(c) = credentials {
                if !head.contains(&format!("Proxy-Authorization: Basic {}\r\n", base64(c))) {
                    let _ = client.write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\n\r\n");
                    return;
                }
            }
            let target = head.split(' ').nth(1).unwrap_or_default().to_string();
            let Ok(upstream) = TcpStream::connect(target) else {
                let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
                return;
            };
            let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
            let (mut c_read, mut u_write) =
                (client.try_clone().unwrap(), upstream.try_clone().unwrap());
            thread::spawn(move || {
                let _ = io::copy(&mut c_read, &mut u_write);
                let _ = u_write.shutdown(Shutdown::Write);
            });
            let (mut u_read, mut c_write) = (upstream, client);
            let _ = io::copy(&mut u_read, &mut c_write);
            let _ = c_write.shutdown(Shutdown::Write);
        });
        (addr, rx)
    }

    #[test]
    fn https_through_a_connect_proxy_with_credentials_reaches_the_server() {
        let (server, rx_server) = tls_server(1, "server", false);
        let (proxy, rx_proxy) = connect_proxy(Some(b"pu:p@ss"));
        let c = Client::new(ClientOptions {
            proxy: ProxySettings {
                https: Some(format!("http://pu:p%40ss@{proxy}")),
                ..Default::default()
            },
            tls: trusting_test_ca(),
            timeout: Duration::from_secs(5),
            ..Default::default()
        })
        .unwrap();
        let resp = block(c.get(&https(server), &[])).unwrap();
        assert_eq!(resp.body, b"secure");
        let connect = rx_proxy.recv().unwrap();
        assert!(
            connect.starts_with(&format!("CONNECT {server} HTTP/1.1\r\n")),
            "{connect}"
        );
        assert!(rx_server.recv().unwrap().starts_with("GET / HTTP/1.1\r\n"));
    }

    #[test]
    fn connect_proxy_407_is_a_clear_error() {
        let (proxy, _rx) = connect_proxy(Some(b"pu:pp"));
        let c = Client::new(ClientOptions {
            proxy: ProxySettings::from_env(None, |n| {
                (n == "HTTPS_PROXY").then(|| format!("http://{proxy}"))
            }),
            ..Default::default()
        })
        .unwrap();
        let err = block(c.get(&Url::parse("https://127.0.0.1:9/").unwrap(), &[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("proxy {proxy} requires authentication (407): give it as http://user:password@{proxy}")
        );
    }
}
