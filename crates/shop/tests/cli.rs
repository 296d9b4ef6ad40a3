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
    for word in ["serve", "migrate", "seed", "openapi", "graphql-schema", "healthcheck", "Exit codes"] {
        assert!(help.contains(word), "--help mentions {word}:\n{help}");
    }
    // The long help carries every setting with its default, as the README says.
    assert!(help.contains(include_str!("../../../config/default.toml")), "--help lists the settings:\n{help}");
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
fn graphql_schema_prints_the_sdl_kept_in_docs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(shop(dir.path()).arg("graphql-schema"));
    assert!(output.status.success());
    let kept = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/schema.graphql"))
        .expect("docs/schema.graphql");
    assert!(stdout(&output) == kept, "docs/schema.graphql is what `shop graphql-schema` prints");
    assert!(!dir.path().join("shop.db").exists(), "printing the schema touches no database");
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
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot open the database") && stderr.contains("Connection refused"),
        "the cause: {stderr}"
    );
    assert_eq!(stderr.matches("cannot open the database").count(), 1, "printed once: {stderr}");
}

#[test]
fn a_profile_is_found_or_refused_wherever_the_binary_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(shop(dir.path()).env("SHOP_ENV", "prodution").arg("openapi"));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let looked_in = dir.path().join("config").join("prodution.toml");
    assert!(stderr.contains("SHOP_ENV=prodution") && stderr.contains(&*looked_in.to_string_lossy()), "{stderr}");
    // Production is built in: no config folder here, and commands that serve nothing need no token.
    let output = run(shop(dir.path()).env("SHOP_ENV", "production").arg("openapi"));
    assert!(output.status.success(), "{output:?}");
    let output = run(shop(dir.path()).env("SHOP_ENV", "production").arg("serve"));
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("auth.admin_token"));
}

#[test]
fn a_reader_that_stops_reading_is_no_failure() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child =
        shop(dir.path()).arg("openapi").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("runs");
    drop(child.stdout.take()); // `shop openapi | head -0`
    let output = child.wait_with_output().expect("ends");
    assert!(output.status.success(), "{output:?}");
    assert!(output.stderr.is_empty(), "no panic: {}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn the_first_start_says_what_it_made_and_a_silent_log_filter_is_replaced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = shop(dir.path());
    command.env("RUST_LOG", "debu").arg("serve");
    let (mut child, _, head) = start_logging(command); // it logs its address: `info` is on
    terminate(&child);
    assert!(child.wait().expect("stops").success());
    let head = head.join("\n");
    assert!(head.contains("RUST_LOG=\"debu\" enables none of the service's logs"), "{head}");
    assert!(head.contains("created the database file") && head.contains("migrated the database applied=3"), "{head}");
}

#[test]
fn the_platform_port_is_honoured() {
    let dir = tempfile::tempdir().expect("temp dir");
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("bound").port();
    let mut command = shop(dir.path());
    command.env("PORT", free.to_string()).arg("serve");
    let (mut child, address) = start(command);
    terminate(&child);
    assert!(child.wait().expect("stops").success());
    assert_eq!(address, format!("127.0.0.1:{free}"));
}

#[test]
fn healthcheck_exits_0_while_the_instance_is_ready_and_1_once_it_is_gone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("bound").port();
    // Bound on every interface, as in a container: the check asks loopback.
    let on_this_instance = |command: &mut Command| {
        command.env("PORT", free.to_string()).env("SHOP__SERVER__HOST", "0.0.0.0");
    };
    let mut command = shop(dir.path());
    on_this_instance(command.arg("serve"));
    let (mut child, _) = start(command);

    let mut check = shop(dir.path());
    on_this_instance(check.arg("healthcheck"));
    let healthy = run(&mut check);
    assert!(healthy.status.success(), "{healthy:?}");
    assert_eq!(stdout(&healthy), format!("http://127.0.0.1:{free}/health/ready: 200 OK\n"));

    terminate(&child);
    assert!(child.wait().expect("stops").success());
    let gone = run(&mut check);
    assert_eq!(gone.status.code(), Some(1), "{gone:?}");
    assert!(String::from_utf8_lossy(&gone.stderr).contains("/health/ready"), "{gone:?}");
}

/// Starts `shop serve` on a free port; returns the process and its address.
fn serve(dir: &Path) -> (Child, String) {
    let mut command = shop(dir);
    command.arg("serve");
    start(command)
}

/// Starts `command` (a `shop serve`) on a free port; returns the process and its address.
fn start(command: Command) -> (Child, String) {
    let (child, address, _) = start_logging(command);
    (child, address)
}

/// Starts `command` (a `shop serve`) on a free port unless it names one with
/// `PORT`; returns the process, its address and the log lines until then.
fn start_logging(mut command: Command) -> (Child, String, Vec<String>) {
    if !command.get_envs().any(|(name, _)| name == "PORT") {
        command.env("SHOP__SERVER__PORT", "0");
    }
    let mut child = command
        .env("SHOP__SERVER__SHUTDOWN_TIMEOUT_SECS", "10")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("shop serve starts");
    let log = child.stderr.take().expect("piped");
    let mut lines = BufReader::new(log).lines();
    let mut head = Vec::new();
    let address = loop {
        let line = lines.next().expect("the server logs its address").expect("utf-8 log");
        if let Some(at) = line.find("address=") {
            break line[at + "address=".len()..].split_whitespace().next().unwrap_or_default().to_owned();
        }
        head.push(line);
    };
    std::thread::spawn(move || lines.for_each(drop)); // keep draining the log
    (child, address, head)
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

/// A request for `path` on an open connection, and whether a 200 came back in time.
fn request_on(stream: &mut TcpStream, path: &str) -> bool {
    let mut reader = BufReader::new(stream.try_clone().expect("a second handle"));
    if stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).is_err() {
        return false;
    }
    let mut status = String::new();
    if reader.read_line(&mut status).is_err() || !status.starts_with("HTTP/1.1 200") {
        return false;
    }
    // The rest of the head, then the body, whose length is known.
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() || line == "\r\n" {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).is_ok()
}

/// Whether the server closed `stream` (a read returns end of file or fails).
fn closed(stream: &mut TcpStream) -> bool {
    let mut byte = [0_u8; 1];
    matches!(stream.read(&mut byte), Ok(0) | Err(_))
}

#[test]
fn a_head_sent_a_byte_at_a_time_is_cut_off_at_the_header_timeout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = shop(dir.path());
    command.env("SHOP__SERVER__HEADER_TIMEOUT_SECS", "1").arg("serve");
    let (mut child, address) = start(command);
    let mut stream = TcpStream::connect(&address).expect("connect");
    let started = Instant::now();
    let head = b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    let mut cut_off = None;
    for byte in head.iter().chain(b"a".repeat(50).iter()) {
        if stream.write_all(&[*byte]).is_err() {
            cut_off = Some(started.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        if started.elapsed() > Duration::from_secs(5) {
            break;
        }
    }
    let cut_off = cut_off.unwrap_or_else(|| {
        stream.set_read_timeout(Some(Duration::from_secs(3))).expect("timeout");
        assert!(closed(&mut stream), "the slow sender was cut off");
        started.elapsed()
    });
    assert!(cut_off < Duration::from_secs(4), "cut off after the 1 s header timeout, not later: {cut_off:?}");
    terminate(&child);
    child.wait().expect("exits");
}

#[test]
fn an_idle_keep_alive_connection_lives_until_its_own_timeout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = shop(dir.path());
    command
        .env("SHOP__SERVER__HEADER_TIMEOUT_SECS", "1")
        .env("SHOP__SERVER__KEEP_ALIVE_TIMEOUT_SECS", "3")
        .arg("serve");
    let (mut child, address) = start(command);
    let mut stream = TcpStream::connect(&address).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    assert!(request_on(&mut stream, "/health/live"));
    std::thread::sleep(Duration::from_millis(1800));
    assert!(request_on(&mut stream, "/health/live"), "idle past the header timeout, the connection is still open");
    let idle = Instant::now();
    assert!(closed(&mut stream), "then it is closed");
    let after = idle.elapsed();
    assert!(
        after > Duration::from_millis(2500) && after < Duration::from_secs(5),
        "after the 3 s keep-alive: {after:?}"
    );
    terminate(&child);
    child.wait().expect("exits");
}

/// More idle connections than the process has descriptors: the connection
/// cap keeps room for the database, and a client that already has a
/// connection is answered within a second, from the database too (readiness
/// pings it).
#[test]
fn running_out_of_descriptors_does_not_stop_the_open_connections() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = Command::new("sh");
    command
        .env_clear()
        .current_dir(dir.path())
        .env("SHOP__DATABASE__URL", format!("sqlite://{}?mode=rwc", dir.path().join("shop.db").display()))
        .env("RUST_LOG", "info")
        .args(["-c", &format!("ulimit -n 256 && exec {} serve", env!("CARGO_BIN_EXE_shop"))]);
    let (mut child, address) = start(command);
    let mut regular = TcpStream::connect(&address).expect("connect");
    regular.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    assert!(request_on(&mut regular, "/health/ready"));
    let idle: Vec<TcpStream> = (0..400).filter_map(|_| TcpStream::connect(&address).ok()).collect();
    assert!(idle.len() > 256, "more connections than the server has descriptors: {}", idle.len());
    let asked = Instant::now();
    assert!(request_on(&mut regular, "/health/ready"), "the open connection is still served, database included");
    assert!(asked.elapsed() < Duration::from_secs(1), "within a second: {:?}", asked.elapsed());
    drop(idle);
    terminate(&child);
    child.wait().expect("exits");
}

/// An OTLP/HTTP collector on a free port: the spans it receives, decoded.
fn collector() -> (String, std::sync::Arc<std::sync::Mutex<Vec<opentelemetry_proto::tonic::trace::v1::Span>>>) {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message;
    let spans = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let received = spans.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let address = listener.local_addr().expect("bound");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async move {
            listener.set_nonblocking(true).expect("non-blocking");
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            let export = axum::routing::post(move |body: axum::body::Bytes| async move {
                let request = ExportTraceServiceRequest::decode(body).expect("an OTLP trace export");
                let mut spans = received.lock().expect("not poisoned");
                for resource in request.resource_spans {
                    spans.extend(resource.scope_spans.into_iter().flat_map(|scope| scope.spans));
                }
                ([(axum::http::header::CONTENT_TYPE, "application/x-protobuf")], Vec::new())
            });
            axum::serve(listener, axum::Router::new().route("/v1/traces", export)).await.expect("collector runs");
        });
    });
    (format!("http://{address}"), spans)
}

#[test]
fn traces_continue_the_callers_trace_and_show_each_statement() {
    let (endpoint, spans) = collector();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = shop(dir.path());
    command.env("SHOP__TELEMETRY__OTLP_ENDPOINT", &endpoint).arg("serve");
    let (mut child, address) = start(command);
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let mut stream = TcpStream::connect(&address).expect("connect");
    let head = format!(
        "GET /api/v1/products?q=tea HTTP/1.1\r\nHost: x\r\ntraceparent: 00-{trace_id}-{caller_span}-01\r\n\
         Connection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("answer");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    terminate(&child); // the exporter sends what it holds at exit
    assert!(child.wait().expect("stops").success());

    let spans = spans.lock().expect("not poisoned");
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let in_trace: Vec<_> = spans.iter().filter(|span| hex(&span.trace_id) == trace_id).collect();
    let request =
        in_trace.iter().find(|span| span.name == "request").expect("the request's span, in the caller's trace");
    assert_eq!(hex(&request.parent_span_id), caller_span, "under the caller's span");
    let attribute = |span: &opentelemetry_proto::tonic::trace::v1::Span, key: &str| {
        span.attributes.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.clone()).map(|v| format!("{v:?}"))
    };
    let statement = in_trace
        .iter()
        .find(|span| span.name == "SELECT" && span.parent_span_id == request.span_id)
        .expect("the page's SELECT, under the request");
    assert!(attribute(statement, "db.system.name").is_some_and(|v| v.contains("sqlite")));
    assert!(attribute(statement, "db.query.text").is_some_and(|v| v.contains("products")), "{statement:?}");
    assert!(statement.start_time_unix_nano >= request.start_time_unix_nano);
    assert!(statement.end_time_unix_nano <= request.end_time_unix_nano);
}
