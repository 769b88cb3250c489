//! Exits 0 when a database server URL is reachable (used by `scripts/test` to decide which
//! engines to test). Prints nothing else; the URL is never echoed with its password.

fn main() {
    let url = std::env::args().nth(1).unwrap_or_default();
    let ok =
        morapi::storage::scratch::create(&url).and_then(|scratch| morapi::storage::scratch::drop(&scratch)).is_ok();
    std::process::exit(if ok { 0 } else { 1 });
}
