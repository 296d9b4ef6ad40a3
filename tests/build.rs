//! Compiles the PostgreSQL tests as ordinary tests when a server is configured
//! (`SHOP_TEST_POSTGRES_URL`) or required (`CI`), and as ignored tests
//! otherwise: a run without PostgreSQL reports them as ignored instead of
//! counting them as passed.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    println!("cargo::rerun-if-env-changed=SHOP_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-env-changed=CI");
    // The replica's own tests need a primary with a streaming standby (tests/replica/pair.sh).
    println!("cargo::rustc-check-cfg=cfg(replica_tests)");
    println!("cargo::rerun-if-env-changed=SHOP_TEST_REPLICA_URL");
    if std::env::var("SHOP_TEST_REPLICA_URL").is_ok_and(|url| !url.is_empty()) {
        println!("cargo::rustc-cfg=replica_tests");
    }
    let configured = std::env::var("SHOP_TEST_POSTGRES_URL").is_ok_and(|url| !url.is_empty());
    if configured || std::env::var_os("CI").is_some() {
        println!("cargo::rustc-cfg=postgres_tests");
    }
}
