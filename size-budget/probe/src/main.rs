//! Size probe (see Cargo.toml): every feature adds one dependency, used the way the agent uses
//! it, behind a run-time argument so that nothing is optimised away.

#[allow(unused_imports)]
use std::io::{Read, Write};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let input = std::fs::read(args.get(1).map(String::as_str).unwrap_or("/proc/cpuinfo"))
        .unwrap_or_default();
    println!("{} bytes", input.len());

    #[cfg(feature = "deflate")]
    {
        // The OCS protocol's zlib-compressed XML, both ways.
        let packed = miniz_oxide::deflate::compress_to_vec_zlib(&input, 6);
        let back = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&packed, 1 << 20);
        println!(
            "zlib {} -> {}: {:?}",
            input.len(),
            packed.len(),
            back.map(|b| b.len()).ok()
        );
    }

    #[cfg(feature = "xml")]
    {
        // Reading a server reply (PROLOG_FREQ and the like).
        let text = String::from_utf8_lossy(&input);
        let mut reader = quick_xml::Reader::from_str(&text);
        let mut count = 0usize;
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) | Err(_) => break,
                Ok(quick_xml::events::Event::Start(e)) => count += e.name().as_ref().len(),
                Ok(quick_xml::events::Event::Text(t)) => count += t.len(),
                _ => {}
            }
        }
        println!("xml {count}");
    }

    #[cfg(feature = "net")]
    {
        // An async TCP exchange with a timeout, as the client and the httpd do.
        if let Some(addr) = args.get(2) {
            let r = smol::block_on(async {
                let connect =
                    async { smol::net::TcpStream::connect(addr.as_str()).await.map(Some) };
                let timeout = async {
                    smol::Timer::after(std::time::Duration::from_secs(5)).await;
                    Ok(None)
                };
                let s = smol::future::or(connect, timeout).await?;
                if let Some(mut s) = s {
                    use smol::io::{AsyncReadExt, AsyncWriteExt};
                    s.write_all(b"GET / HTTP/1.0\r\n\r\n").await?;
                    let mut buf = Vec::new();
                    s.read_to_end(&mut buf).await?;
                    return Ok::<usize, std::io::Error>(buf.len());
                }
                Ok(0)
            });
            println!("net {r:?}");
        }
    }

    #[cfg(feature = "tls")]
    {
        // A TLS client over a TCP stream; roots from the device's CA file (or built in).
        use std::sync::Arc;
        let mut roots = rustls::RootCertStore::empty();
        if let Some(file) = args.get(3) {
            use rustls::pki_types::pem::PemObject;
            for cert in rustls::pki_types::CertificateDer::pem_file_iter(file)
                .into_iter()
                .flatten()
                .flatten()
            {
                let _ = roots.add(cert);
            }
        }
        #[cfg(feature = "roots")]
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        if let Some(addr) = args.get(4) {
            let name = rustls::pki_types::ServerName::try_from(addr.clone()).expect("server name");
            let mut conn =
                rustls::ClientConnection::new(Arc::new(config), name).expect("connection");
            if let Ok(mut sock) = std::net::TcpStream::connect((addr.as_str(), 443)) {
                let mut tls = rustls::Stream::new(&mut conn, &mut sock);
                let _ = tls.write_all(b"GET / HTTP/1.0\r\n\r\n");
                let mut buf = Vec::new();
                let _ = tls.read_to_end(&mut buf);
                println!("tls {}", buf.len());
            }
        }
    }
}
