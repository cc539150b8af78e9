//! The daemon's HTTP server alone, with made-up targets, for trying it by hand and for
//! tests/daemon/load_test.sh before the daemon exists:
//!
//!   cargo build --release --features httpd --example httpd_demo
//!   target/release/examples/httpd_demo 127.0.0.1:62354 /tmp/demo-vardir 127.0.0.1
//!
//! Arguments: listening address (default 127.0.0.1:62354), vardir (its `shared/` folder is
//! served; default: a fresh folder under /tmp), trust entries (comma-separated). The status
//! switches to "running task inventory" for 5 s of every 30 s, and after each `/now`.

#[cfg(feature = "httpd")]
fn main() {
    use std::cell::RefCell;
    use std::net::SocketAddr;
    use std::path::PathBuf;
    use std::rc::Rc;
    use std::time::Duration;

    use smol::{future, Timer};
    use uagent::httpd::{bind, serve, Config, TargetView, View};

    let args: Vec<String> = std::env::args().collect();
    let addr: SocketAddr = match args
        .get(1)
        .map_or(Ok("127.0.0.1:62354".parse().unwrap()), |a| a.parse())
    {
        Ok(a) => a,
        Err(e) => {
            eprintln!("httpd_demo: bad address: {e}");
            std::process::exit(2);
        }
    };
    let vardir = args.get(2).map_or_else(
        || std::env::temp_dir().join(format!("httpd-demo-{}", std::process::id())),
        PathBuf::from,
    );
    let trust: Vec<String> = args
        .get(3)
        .map(|t| t.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let _ = std::fs::create_dir_all(vardir.join("shared"));
    let log = vardir.join("demo.log");
    if !log.exists() {
        let _ = std::fs::write(&log, "[httpd-demo] started\n");
    }
    let cfg = Config {
        ip: Some(addr.ip()),
        port: addr.port(),
        trust,
        server_hosts: vec!["127.0.0.1".into(), String::new()],
        shared_dir: vardir.join("shared"),
        log_file: Some(log),
        deviceid: "httpd-demo-2026-01-01-00-00-00".into(),
        ..Config::default()
    };
    let listener = match bind(&cfg) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("httpd_demo: {e}");
            std::process::exit(1);
        }
    };
    let now = uagent::tasks::inventory::time::now();
    let view = Rc::new(RefCell::new(View {
        status: "waiting".into(),
        targets: vec![
            TargetView {
                name: "http://127.0.0.1/ocsinventory".into(),
                is_server: true,
                next_run: now + 3600,
            },
            TargetView {
                name: vardir.display().to_string(),
                is_server: false,
                next_run: now + 7200,
            },
        ],
    }));
    let (tx, rx) = smol::channel::bounded(4);
    println!(
        "httpd_demo: pid {} listening on {} (vardir {})",
        std::process::id(),
        listener.get_ref().local_addr().map_or(addr, |a| a),
        vardir.display()
    );
    let runs = async {
        loop {
            let asked = future::or(async { rx.recv().await.ok() }, async {
                Timer::after(Duration::from_secs(25)).await;
                None
            })
            .await;
            if let Some(r) = asked {
                println!("httpd_demo: run asked: {r:?}");
            }
            view.borrow_mut().status = "running task inventory".into();
            Timer::after(Duration::from_secs(5)).await;
            view.borrow_mut().status = "waiting".into();
        }
    };
    smol::block_on(future::or(serve(listener, cfg, view.clone(), tx), runs));
}

#[cfg(not(feature = "httpd"))]
fn main() {
    eprintln!("httpd_demo: build with --features httpd");
    std::process::exit(2);
}
