//! `morapi call`: a client for integrators. Signs a request the way MOR checks it (docs/contract.md §3),
//! sends it to morapi or to any MOR server, and prints the XML answer as received — or, with
//! `--dry-run`, the exact request instead.

use super::run::{self, NoAnswer, Usage};
use crate::auth::hash::{Coverage, Variant, covered_string, sign_covering};
use crate::params::Params;
use anyhow::bail;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use std::io::{IsTerminal, Write};
use std::time::Duration;

const FORM: &str = "application/x-www-form-urlencoded";

/// Which hash to send when MOR's documentation and MOR's code disagree (docs/contract.md §3, "Two variants").
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HashVariant {
    /// What MOR X8 and MOR 11 really check: without `user_warning_email_hour` and `pgui`.
    Mor,
    /// What MOR's documentation describes: every listed parameter.
    Documented,
}

impl HashVariant {
    fn variant(self) -> Variant {
        match self {
            HashVariant::Mor => Variant::MorActual,
            HashVariant::Documented => Variant::Documented,
        }
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
morapi call http://127.0.0.1:8080 user_details_update -u admin --key 456789 user_id=123 u15=1\n  \
MORAPI_KEY=456789 morapi call https://mor.example.com/billing user_details_update -u admin user_id=123 u15=0\n  \
morapi call --dry-run http://127.0.0.1:8080 user_details_update -u admin --key 456789 user_id=123 u15=1\n\n\
The request goes to BASE_URL/api/METHOD (BASE_URL/METHOD when BASE_URL already ends with /api).\n\
POST sends every parameter (u, the pairs, hash) in a form body, so none of them lands in a server's\n\
access log; --get puts them in the query string. By default the hash is MOR's actual one, which real\n\
MOR servers require and morapi accepts; the two differ only when user_warning_email_hour or pgui is sent.\n\n\
Exit status: 0 the answer has no <error>; 1 the answer has an <error> or an HTTP error status;\n\
2 unusable arguments; 3 no answer (connection, TLS, timeout).")]
pub struct Opts {
    /// Where MOR's API lives, e.g. http://127.0.0.1:8080 or https://mor.example.com/billing.
    #[arg(value_name = "BASE_URL")]
    pub base: String,
    /// The API method, e.g. user_details_update.
    #[arg(value_name = "METHOD")]
    pub method: String,
    /// Request parameters as name=value (raw values; they are encoded for you).
    #[arg(value_name = "NAME=VALUE")]
    pub pairs: Vec<String>,
    /// The acting user's username (MOR's `u`).
    #[arg(short = 'u', long = "user", value_name = "USERNAME")]
    pub user: String,
    /// The API secret key (or set MORAPI_KEY; asked for on a terminal when neither is given).
    #[arg(long, env = "MORAPI_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// Send a GET request with the parameters in the query string (servers refuse GET unless
    /// "Allow GET API" is on).
    #[arg(long)]
    pub get: bool,
    /// Print the exact request instead of sending it.
    #[arg(long)]
    pub dry_run: bool,
    /// The hash to send when the variants differ.
    #[arg(long, value_enum, default_value_t = HashVariant::Mor)]
    pub variant: HashVariant,
    /// Send no hash (for servers with hash checking disabled); no key is needed.
    #[arg(long)]
    pub no_hash: bool,
    /// Seconds to wait for the whole answer.
    #[arg(long, value_name = "SECONDS", default_value = "30",
          value_parser = |s: &str| crate::values::seconds(s, 0.001, 86400.0))]
    pub timeout: Duration,
    /// Also print the answer's status line and headers before the body.
    #[arg(short = 'i', long)]
    pub include: bool,
}

/// A request ready to send or to show.
#[derive(Debug)]
pub struct Prepared {
    pub request: reqwest::Request,
    /// What was hashed, key masked; `None` with `--no-hash`.
    pub hashed: Option<String>,
    /// Whether the documented and MOR's hash differ for these parameters.
    pub variants_differ: bool,
}

fn usage(message: impl Into<String>) -> anyhow::Error {
    Usage(message.into()).into()
}

/// The endpoint for a base URL and a method: `{base}/api/{method}`, or `{base}/{method}` when the
/// base already ends with `/api`.
pub fn endpoint(base: &str, method: &str) -> Result<reqwest::Url, String> {
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(format!("{method:?} is not an API method name (e.g. user_details_update)"));
    }
    let mut url = reqwest::Url::parse(base.trim()).map_err(|e| {
        format!("{base:?} is not a URL ({e}); e.g. http://127.0.0.1:8080 or https://mor.example.com/billing")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("the base URL must start with http:// or https://, not {}://", url.scheme()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the base URL must not carry a username or password".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the base URL must not have a query string or fragment; pass parameters as NAME=VALUE".into());
    }
    let path = url.path().trim_end_matches('/');
    let path = if path.ends_with("/api") { format!("{path}/{method}") } else { format!("{path}/api/{method}") };
    url.set_path(&path);
    Ok(url)
}

/// The parameters as sent, in order: `u`, the pairs as given, then `hash`.
pub fn parameters(user: &str, pairs: &[String], no_hash: bool) -> Result<Vec<(String, String)>, String> {
    let mut params = vec![("u".to_string(), user.to_string())];
    for pair in pairs {
        let (name, value) = pair.split_once('=').ok_or_else(|| format!("expected NAME=VALUE, got {pair:?}"))?;
        match name {
            "" => return Err(format!("{pair:?} has no name")),
            "u" => return Err("give the acting user with -u/--user, not as u=".into()),
            "hash" if !no_hash => {
                return Err("the hash is computed for you; to send your own, add --no-hash".into());
            }
            _ => {}
        }
        if params.iter().any(|(n, _)| n == name) {
            return Err(format!("{name} is given twice"));
        }
        params.push((name.to_string(), value.to_string()));
    }
    Ok(params)
}

/// Builds the request: signs it (unless `key` is `None`), and puts the parameters in a form body
/// (POST) or in the query string (`--get`).
pub fn prepare(opts: &Opts, key: Option<&str>) -> Result<Prepared, String> {
    let url = endpoint(&opts.base, &opts.method)?;
    let mut params = parameters(&opts.user, &opts.pairs, key.is_none())?;
    let hashed_params = Params::from_pairs(params.iter().cloned());
    // users_get and user_login sign `u` and `p`; every other method MOR's global order.
    let covers = Coverage::of_method(&opts.method);
    let variants_differ = covered_string(&hashed_params, covers, Variant::Documented)
        != covered_string(&hashed_params, covers, Variant::MorActual);
    let mut hashed = None;
    if let Some(key) = key {
        let variant = opts.variant.variant();
        let string = covered_string(&hashed_params, covers, variant);
        hashed = Some(format!("{string}{}", "*".repeat(key.chars().count())));
        params.push(("hash".into(), sign_covering(&hashed_params, key, variant, covers)));
    }
    let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish();

    let mut headers = HeaderMap::new();
    headers.insert(USER_AGENT, HeaderValue::from_static(concat!("morapi/", env!("CARGO_PKG_VERSION"))));
    headers.insert(ACCEPT, HeaderValue::from_static("text/xml, application/xml, */*"));
    let mut request;
    if opts.get {
        let mut url = url;
        url.set_query(Some(&encoded));
        request = reqwest::Request::new(reqwest::Method::GET, url);
    } else {
        request = reqwest::Request::new(reqwest::Method::POST, url);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(FORM));
        *request.body_mut() = Some(encoded.into());
    }
    *request.headers_mut() = headers;
    Ok(Prepared { request, hashed, variants_differ })
}

/// The `Host` header the HTTP client derives from the URL.
fn host_header(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// What `--dry-run` prints: the request line, every header, the body, and what was hashed.
pub fn describe(prepared: &Prepared, opts: &Opts) -> String {
    let r = &prepared.request;
    let body = r.body().and_then(reqwest::Body::as_bytes).unwrap_or_default();
    let mut out = format!("{} {}\n", r.method(), r.url());
    out.push_str(&format!("host: {}\n", host_header(r.url())));
    for (name, value) in r.headers() {
        out.push_str(&format!("{name}: {}\n", String::from_utf8_lossy(value.as_bytes())));
    }
    if r.body().is_some() {
        out.push_str(&format!("content-length: {}\n", body.len()));
    }
    out.push('\n');
    if !body.is_empty() {
        out.push_str(&String::from_utf8_lossy(body));
        out.push('\n');
    }
    out.push('\n');
    match &prepared.hashed {
        Some(hashed) => {
            out.push_str(&format!("hashed string: {hashed}\n"));
            if prepared.variants_differ {
                out.push_str(match opts.variant {
                    HashVariant::Mor => {
                        "hash variant: mor (without user_warning_email_hour and pgui, as MOR checks; \
                         --variant documented includes them)\n"
                    }
                    HashVariant::Documented => {
                        "hash variant: documented (with user_warning_email_hour and pgui; a real MOR \
                         server answers Incorrect hash)\n"
                    }
                });
            }
        }
        None => out.push_str("no hash sent (--no-hash)\n"),
    }
    out.push_str("(dry run: nothing was sent)\n");
    out
}

/// The key to sign with: `--key`/MORAPI_KEY, else asked for on the terminal.
fn key(opts: &Opts) -> anyhow::Result<Option<String>> {
    if opts.no_hash {
        return Ok(None);
    }
    let key = match &opts.key {
        Some(k) => k.clone(),
        None if std::io::stdin().is_terminal() => {
            rpassword::prompt_password("API secret key: ").map_err(|e| usage(format!("cannot read the key: {e}")))?
        }
        None => return Err(usage("a key is needed: --key, MORAPI_KEY, or --no-hash for servers that skip the check")),
    };
    if key.is_empty() {
        return Err(usage("the key is empty; give the API secret key, or --no-hash"));
    }
    Ok(Some(key))
}

/// Exit status (see [`crate::cli`]): 0 an answer without `<error>`; 1 an answer with `<error>`
/// or an HTTP error status; 2 unusable arguments; 3 no answer.
pub fn run(opts: Opts) -> anyhow::Result<()> {
    let key = key(&opts)?;
    let prepared = prepare(&opts, key.as_deref()).map_err(usage)?;
    if opts.dry_run {
        print!("{}", describe(&prepared, &opts));
        return Ok(());
    }
    run::block_on(send(&opts, prepared.request))
}

/// The error and its causes, without the URL (a GET URL carries the parameters).
fn error_chain(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

async fn send(opts: &Opts, request: reqwest::Request) -> anyhow::Result<()> {
    let timeout = opts.timeout;
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        // A redirected POST would silently become a GET without its body.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| NoAnswer(error_chain(e)))?;
    let mut target = request.url().clone();
    target.set_query(None);
    let no_answer = |e: reqwest::Error| NoAnswer(format!("no answer from {target}: {}", error_chain(e)));
    let response = client.execute(request).await.map_err(no_answer)?;
    let status = response.status();
    let version = response.version();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(no_answer)?;

    let mut stdout = std::io::stdout().lock();
    let mut out = Vec::new();
    if opts.include {
        out.extend_from_slice(format!("{version:?} {status}\n").as_bytes());
        for (name, value) in &headers {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
    }
    out.extend_from_slice(&body);
    let _ = stdout.write_all(&out).and_then(|()| stdout.flush());

    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(|id| format!(" (request id {id})"))
        .unwrap_or_default();
    if status.is_redirection() {
        let to = headers.get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("?");
        bail!("HTTP {status}: the server redirects to {to}; use that as the base URL");
    }
    if !status.is_success() {
        bail!("HTTP {status}{request_id}");
    }
    if contains(&body, b"<error>") {
        bail!("the server answered with an error{request_id}");
    }
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        opts: Opts,
    }

    fn opts(args: &[&str]) -> Opts {
        Cli::try_parse_from(std::iter::once("call").chain(args.iter().copied())).unwrap().opts
    }

    const SEED: &[&str] =
        &["http://127.0.0.1:8080", "user_details_update", "-u", "admin", "--key", "456789", "user_id=123", "u15=1"];

    #[test]
    fn endpoints() {
        let e = |b: &str| endpoint(b, "user_details_update").map(|u| u.to_string());
        assert_eq!(e("http://127.0.0.1:8080").unwrap(), "http://127.0.0.1:8080/api/user_details_update");
        assert_eq!(e("http://127.0.0.1:8080/").unwrap(), "http://127.0.0.1:8080/api/user_details_update");
        assert_eq!(
            e("https://mor.example.com/billing").unwrap(),
            "https://mor.example.com/billing/api/user_details_update"
        );
        assert_eq!(
            e("https://mor.example.com/billing/api/").unwrap(),
            "https://mor.example.com/billing/api/user_details_update"
        );
        assert_eq!(e("http://h/api").unwrap(), "http://h/api/user_details_update");
        // Only a whole `api` segment counts.
        assert_eq!(e("http://h/myapi").unwrap(), "http://h/myapi/api/user_details_update");
        assert!(e("127.0.0.1:8080").is_err());
        assert!(e("ftp://h").is_err());
        assert!(e("http://h/billing?x=1").is_err());
        assert!(e("https://bob:pw@h/billing").unwrap_err().contains("password"));
        assert!(endpoint("http://h", "").is_err());
        assert!(endpoint("http://h", "../admin").is_err());
        assert!(endpoint("http://h", "a/b").is_err());
    }

    #[test]
    fn parameters_keep_order_and_refuse_ambiguity() {
        let p = parameters("admin", &["user_id=123".into(), "u15=1".into(), "a0=x=y".into()], false).unwrap();
        assert_eq!(
            p,
            vec![
                ("u".into(), "admin".into()),
                ("user_id".into(), "123".into()),
                ("u15".into(), "1".into()),
                ("a0".into(), "x=y".into())
            ]
        );
        assert!(parameters("admin", &["oops".into()], false).unwrap_err().contains("NAME=VALUE"));
        assert!(parameters("admin", &["=1".into()], false).is_err());
        assert!(parameters("admin", &["u=john".into()], false).unwrap_err().contains("-u"));
        assert!(parameters("admin", &["u15=1".into(), "u15=0".into()], false).unwrap_err().contains("twice"));
        assert!(parameters("admin", &["hash=abc".into()], false).unwrap_err().contains("--no-hash"));
        assert!(parameters("admin", &["hash=abc".into()], true).is_ok());
    }

    #[test]
    fn seed_request_is_a_signed_form_post() {
        let o = opts(SEED);
        let p = prepare(&o, o.key.as_deref()).unwrap();
        assert_eq!(p.request.method(), reqwest::Method::POST);
        assert_eq!(p.request.url().as_str(), "http://127.0.0.1:8080/api/user_details_update");
        assert_eq!(p.request.headers()[CONTENT_TYPE], FORM);
        let body = p.request.body().and_then(reqwest::Body::as_bytes).unwrap();
        assert_eq!(body, b"u=admin&user_id=123&u15=1&hash=0ab3ede4e93a55c38855a2cc9b9e169d35442c48");
        assert_eq!(p.hashed.as_deref(), Some("1231******"));
        assert!(!p.variants_differ);
    }

    #[test]
    fn get_puts_everything_in_the_query_string() {
        let mut args = SEED.to_vec();
        args.push("--get");
        args.push("a0=Gedimino pr. 1&2");
        let o = opts(&args);
        let p = prepare(&o, o.key.as_deref()).unwrap();
        assert_eq!(p.request.method(), reqwest::Method::GET);
        assert!(p.request.body().is_none());
        assert!(!p.request.headers().contains_key(CONTENT_TYPE));
        let url = p.request.url().as_str();
        assert!(url.starts_with("http://127.0.0.1:8080/api/user_details_update?u=admin&user_id=123&u15=1&"), "{url}");
        assert!(url.contains("a0=Gedimino+pr.+1%262&hash="), "{url}");
    }

    #[test]
    fn variants() {
        let mut args = SEED.to_vec();
        args.extend(["user_warning_email_hour=15", "pgui=1", "pcsv=0"]);
        let mor = opts(&args);
        let p = prepare(&mor, mor.key.as_deref()).unwrap();
        assert!(p.variants_differ);
        assert_eq!(p.hashed.as_deref(), Some("12310******"));
        assert!(describe(&p, &mor).contains("hash variant: mor"));
        args.extend(["--variant", "documented"]);
        let doc = opts(&args);
        let p = prepare(&doc, doc.key.as_deref()).unwrap();
        assert_eq!(p.hashed.as_deref(), Some("12311510******"));
        assert!(describe(&p, &doc).contains("hash variant: documented"));
        // Hash vectors H3/H4 (docs/contract.md §3, §11) through the client.
        let h = |v: &str| {
            let o = opts(&[
                "http://h",
                "user_details_update",
                "-u",
                "admin",
                "--key",
                "456789",
                "--variant",
                v,
                "user_id=123",
                "user_warning_email_hour=15",
                "pgui=1",
                "pcsv=0",
            ]);
            let p = prepare(&o, o.key.as_deref()).unwrap();
            String::from_utf8(p.request.body().and_then(reqwest::Body::as_bytes).unwrap().to_vec()).unwrap()
        };
        assert!(h("documented").ends_with("hash=3574cbfc236bf319d40b95b7d17fbb7a71b27a71"));
        assert!(h("mor").ends_with("hash=23a5355933c87c9cd46dc46b23f5f3213532cb15"));
    }

    #[test]
    fn no_hash_sends_none_and_needs_no_key() {
        let o = opts(&["http://h/billing", "user_details_update", "-u", "admin", "--no-hash", "user_id=123"]);
        let p = prepare(&o, None).unwrap();
        let body = p.request.body().and_then(reqwest::Body::as_bytes).unwrap();
        assert_eq!(body, b"u=admin&user_id=123");
        assert_eq!(p.hashed, None);
        assert!(describe(&p, &o).contains("no hash sent"));
        assert_eq!(key(&o).unwrap(), None);
    }

    #[test]
    fn dry_run_describes_the_exact_request_with_the_key_masked() {
        let o = opts(SEED);
        let text = describe(&prepare(&o, o.key.as_deref()).unwrap(), &o);
        assert_eq!(
            text,
            format!(
                "POST http://127.0.0.1:8080/api/user_details_update\n\
                 host: 127.0.0.1:8080\n\
                 user-agent: morapi/{}\n\
                 accept: text/xml, application/xml, */*\n\
                 content-type: application/x-www-form-urlencoded\n\
                 content-length: 71\n\
                 \n\
                 u=admin&user_id=123&u15=1&hash=0ab3ede4e93a55c38855a2cc9b9e169d35442c48\n\
                 \n\
                 hashed string: 1231******\n\
                 (dry run: nothing was sent)\n",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert!(!text.contains("456789"));
    }

    #[test]
    fn defaults_and_required_options() {
        let o = opts(SEED);
        assert_eq!(o.variant, HashVariant::Mor);
        assert!(!o.get && !o.dry_run && !o.no_hash && !o.include);
        assert_eq!(o.timeout, Duration::from_secs(30));
        // -u is required; so are the base URL and the method.
        assert!(Cli::try_parse_from(["call", "http://h", "user_details_update", "user_id=1"]).is_err());
        assert!(Cli::try_parse_from(["call", "-u", "admin"]).is_err());
        assert!(Cli::try_parse_from(["call", "http://h", "m", "-u", "a", "--variant", "sha256"]).is_err());
    }

    #[test]
    fn an_empty_key_is_refused() {
        let mut o = opts(SEED);
        o.key = Some(String::new());
        assert_eq!(key(&o).map_err(|e| run::status(&e)).unwrap_err(), run::EXIT_USAGE);
    }

    #[test]
    fn error_answers_are_recognised() {
        assert!(contains(b"<status><error>Incorrect hash</error></status>", b"<error>"));
        assert!(!contains(b"<page><status>User was updated</status></page>", b"<error>"));
        assert!(!contains(b"", b"<error>"));
    }
}
