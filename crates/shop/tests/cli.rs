//! The `shop` binary as scripts and operators use it: each subcommand's exit
//! code and effect on a temporary SQLite file, and a graceful stop on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `shop` with a clean environment, working in `dir`, on `dir/shop.db`.
fn shop(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shop"));
    command
        .env_clear()
        .current_dir(dir)
        .env("SHOP__DATABASE__URL", format!("sqlite://{}?mode=rwc", dir.join("shop.db").display()))
        .env("RUST_LOG", "info");
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("shop runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn tables(dir: &Path) -> Vec<String> {
    use sea_orm::ConnectionTrait;
    let url = format!("sqlite://{}", dir.join("shop.db").display());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let db = sea_orm::Database::connect(&url).await.expect("open the file");
        let query = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name";
        let rows = db.query_all_raw(sea_orm::Statement::from_string(db.get_database_backend(), query)).await;
        rows.expect("query").iter().map(|row| row.try_get::<String>("", "name").expect("name")).collect()
    })
}

#[test]
fn help_explains_every_subcommand_and_the_exit_codes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(shop(dir.path()).arg("--help"));
    assert!(output.status.success());
    let help = stdout(&output);
    for word in ["serve", "migrate", "seed", "openapi", "Exit codes"] {
        assert!(help.contains(word), "--help mentions {word}:\n{help}");
    }
    let output = run(shop(dir.path()).args(["migrate", "--help"]));
    for word in ["up", "down", "status", "fresh"] {
        assert!(stdout(&output).contains(word));
    }
    assert_eq!(run(shop(dir.path()).arg("no-such-command")).status.code(), Some(2));
}

#[test]
fn migrate_up_status_down_and_fresh() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(shop(dir.path()).args(["migrate", "up"]));
    assert!(output.status.success(), "{output:?}");
    let all = ["carts", "idempotency_keys", "product_cart_association", "products", "seaql_migrations"];
    assert_eq!(tables(dir.path()), all);

    let output = run(shop(dir.path()).args(["migrate", "status"]));
    assert!(output.status.success());
    assert!(stdout(&output).contains("m20261124_000001_create_catalog_and_carts\tApplied"), "{}", stdout(&output));

    assert!(run(shop(dir.path()).args(["seed", "--products", "3"])).status.success());
    let output = run(shop(dir.path()).args(["migrate", "fresh"]));
    assert!(output.status.success(), "{output:?}");
    let output = run(shop(dir.path()).args(["seed", "--products", "3"]));
    assert!(stdout(&output).starts_with("3 demo products created"), "fresh emptied the tables");

    for _ in 0..2 {
        let output = run(shop(dir.path()).args(["migrate", "down"]));
        assert!(output.status.success(), "{output:?}");
    }
    assert_eq!(tables(dir.path()), ["carts", "product_cart_association", "products", "seaql_migrations"]);
    let status = stdout(&run(shop(dir.path()).args(["migrate", "status"])));
    assert!(status.contains("m20261130_000001_create_idempotency_keys\tPending"), "{status}");
    assert!(status.contains("m20261124_000001_create_catalog_and_carts\tApplied"), "{status}");
}

#[test]
fn seeding_is_idempotent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(shop(dir.path()).args(["seed", "--products", "40"]));
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output).trim(), "40 demo products created, 0 already there");
    let output = run(shop(dir.path()).args(["seed", "--products", "50"]));
    assert_eq!(stdout(&output).trim(), "10 demo products created, 40 already there");
}

#[test]
fn openapi_prints_the_description() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(shop(dir.path()).arg("openapi"));
    assert!(output.status.success());
    let text = stdout(&output);
    assert!(text.contains("\"openapi\": \"3.1.0\"") && text.contains("/api/v1/carts/{cart_id}/items"), "{text}");
    assert!(!dir.path().join("shop.db").exists(), "printing the description touches no database");
}

#[test]
fn bad_settings_exit_2_and_failures_exit_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(shop(dir.path()).env("SHOP__SERVER__PORT", "eighty").arg("serve"));
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("server.port"));
    let output = run(shop(dir.path()).env("SHOP_ENV", "production").arg("serve"));
    assert_eq!(output.status.code(), Some(2), "production needs a token and a PostgreSQL URL");
    assert!(String::from_utf8_lossy(&output.stderr).contains("auth.admin_token"));
    let unreachable = "postgres://nobody@127.0.0.1:1/shop";
    let output = run(shop(dir.path())
        .env("SHOP__DATABASE__URL", unreachable)
        .env("SHOP__DATABASE__CONNECT_TIMEOUT_SECS", "1")
        .env("SHOP__DATABASE__ACQUIRE_TIMEOUT_SECS", "1")
        .args(["migrate", "up"]));
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot open the database"));
}

/// Starts `shop serve` on a free port; returns the process and its address.
fn serve(dir: &Path) -> (Child, String) {
    let mut child = shop(dir)
        .env("SHOP__SERVER__PORT", "0")
        .env("SHOP__SERVER__SHUTDOWN_TIMEOUT_SECS", "10")
        .env("NO_COLOR", "1")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("shop serve starts");
    let log = child.stderr.take().expect("piped");
    let mut lines = BufReader::new(log).lines();
    let address = loop {
        let line = lines.next().expect("the server logs its address").expect("utf-8 log");
        if let Some(at) = line.find("address=") {
            break line[at + "address=".len()..].split_whitespace().next().unwrap_or_default().to_owned();
        }
    };
    std::thread::spawn(move || lines.for_each(drop)); // keep draining the log
    (child, address)
}

fn terminate(child: &Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
}

#[test]
fn sigterm_lets_an_in_flight_request_finish_then_exits_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut child, address) = serve(dir.path());
    let body = br#"{"name": "Slow tea", "price": 450}"#;
    let mut stream = TcpStream::connect(&address).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let head = format!(
        "POST /api/v1/products HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    // The request is in flight: the head and half the body are sent…
    stream.write_all(head.as_bytes()).expect("write head");
    stream.write_all(&body[..10]).expect("write part of the body");
    std::thread::sleep(Duration::from_millis(300));
    terminate(&child);
    // …no new connection is taken while it drains (polled: the signal takes a moment to land)…
    let signalled = Instant::now();
    while TcpStream::connect(&address).is_ok() {
        assert!(signalled.elapsed() < Duration::from_secs(5), "the listener closes after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    // …and the rest of the body, sent after the signal, still gets its answer.
    stream.write_all(&body[10..]).expect("write the rest");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read the response");
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");

    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "exits after draining");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

/// Whatever a client sends, a log line holds at most about a kibibyte of it:
/// a 60 KB URI and a 100 KB request id leave lines of bounded length.
#[test]
fn log_lines_hold_a_bounded_amount_of_client_text() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log_path = dir.path().join("server.log");
    let mut child = shop(dir.path())
        .env("SHOP__SERVER__PORT", "0")
        .env("RUST_LOG", "info,shop::http=debug")
        .env("NO_COLOR", "1")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).expect("a log file"))
        .spawn()
        .expect("shop serve starts");
    let started = Instant::now();
    let address = loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if let Some(at) = log.find("address=") {
            break log[at + "address=".len()..].split_whitespace().next().unwrap_or_default().to_owned();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the server starts");
        std::thread::sleep(Duration::from_millis(50));
    };
    let send = |head: String| {
        let mut stream = TcpStream::connect(&address).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        stream.write_all(head.as_bytes()).expect("send");
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response
    };
    let long_path = format!("/{}", "a".repeat(60_000));
    let response = send(format!("GET {long_path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    assert!(response.starts_with("HTTP/1.1 404"), "{}", &response[..response.len().min(200)]);
    let long_id = "i".repeat(100_000);
    let response =
        send(format!("GET /health/live HTTP/1.1\r\nHost: x\r\nx-request-id: {long_id}\r\nConnection: close\r\n\r\n"));
    assert!(response.starts_with("HTTP/1.1 200") && !response.contains(&long_id[..200]), "a new id, not the long one");
    terminate(&child);
    child.wait().expect("exits");
    let log = std::fs::read_to_string(&log_path).expect("the log");
    assert!(log.contains("request refused") && log.contains("request served"), "both requests were logged:\n{log}");
    for line in log.lines() {
        assert!(line.len() < 1500, "a log line of {} bytes: {}…", line.len(), &line[..300]);
    }
    assert!(!log.contains(&"i".repeat(200)), "the long id is not logged");
}
