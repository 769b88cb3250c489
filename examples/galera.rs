//! The Galera harness's client and checker (driven by `scripts/galera-test`, which starts the
//! cluster and the morapi instances).
//!
//! `galera load` sends concurrent signed `user_details_update` requests to several morapi
//! instances for a bounded time: some clients update the same ("hot") users through every
//! instance, so that Galera certification conflicts happen, others update a user only one
//! instance touches. Every request sets `u0` (vat_number) and `u17` (last_name) to a token unique
//! to it (`i{instance}c{client}n{seq}`), so every change is recognisable in the audit trail. Each
//! request and its answer is written as one JSON line.
//!
//! `galera check` reads those lines and every node directly, and counts what must never happen:
//! acknowledged updates lost, changes applied twice, changes applied though refused, audit chains
//! that fork or break, nodes whose tables differ. Its last line is the one-line summary; it exits
//! 1 on any anomaly.

use clap::{Parser, Subcommand};
use morapi::auth::hash::{Variant, sign};
use morapi::params::Params;
use morapi::storage::Tx;
use mysql::prelude::Queryable;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const UPDATE: &str = "/billing/api/user_details_update";
/// The audited columns the load changes, with their update parameters.
const FIELDS: [(&str, &str); 2] = [("u0", "vat_number"), ("u17", "last_name")];

#[derive(Parser)]
#[command(about = "Galera harness: drive morapi instances with signed updates, then check every node")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Send concurrent signed user_details_update requests and record every answer (JSON lines).
    Load(LoadOpts),
    /// Check the recorded answers against every node's audit trail, users and checksums.
    Check(CheckOpts),
}

#[derive(clap::Args)]
struct LoadOpts {
    /// Base URLs of the morapi instances, comma-separated (instance 1, 2, …).
    #[arg(long, value_delimiter = ',', required = true)]
    instances: Vec<String>,
    /// How long to send requests.
    #[arg(long, default_value_t = 30.0)]
    seconds: f64,
    /// Where to write one JSON line per request.
    #[arg(long)]
    out: String,
    /// Users every instance updates (certification conflicts between nodes).
    #[arg(long, value_delimiter = ',', default_value = "123,789")]
    hot_users: Vec<i64>,
    /// Users only one instance updates: the Nth for instance N.
    #[arg(long, value_delimiter = ',', default_value = "200,300,301")]
    own_users: Vec<i64>,
    /// Clients per instance updating the hot users (spread over them).
    #[arg(long, default_value_t = 4)]
    hot_clients: usize,
    /// Clients per instance updating that instance's own user.
    #[arg(long, default_value_t = 2)]
    own_clients: usize,
    /// The API user and its secret key.
    #[arg(long, default_value = "admin")]
    user: String,
    #[arg(long, default_value = "456789")]
    key: String,
    /// Seconds before a request without an answer counts as `unknown`.
    #[arg(long, default_value_t = 20.0)]
    timeout: f64,
}

#[derive(clap::Args)]
struct CheckOpts {
    /// Node URLs, comma-separated (e.g. mysql://root@127.0.0.1:3311/morapi,…).
    #[arg(long, value_delimiter = ',', required = true)]
    nodes: Vec<String>,
    /// The JSON lines written by `galera load`.
    #[arg(long)]
    results: String,
    /// The first-start rounds result to put in the summary, `UP/ROUNDS` (e.g. 5/5).
    #[arg(long)]
    first_starts: Option<String>,
    /// Most anomaly detail lines to print.
    #[arg(long, default_value_t = 20)]
    max_details: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Load(o) => load(o),
        Cmd::Check(o) => check(o),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            println!("galera: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// load

/// How an answer is classified.
fn classify(body: &str) -> &'static str {
    if body.contains("User was updated") {
        "updated"
    } else if body.contains("may have been applied") {
        "unknown"
    } else if body.contains("nothing was changed") {
        "refused_nothing_changed"
    } else {
        "other"
    }
}

fn load(o: LoadOpts) -> anyhow::Result<ExitCode> {
    if o.instances.is_empty() {
        anyhow::bail!("--instances: at least one instance");
    }
    if o.own_clients > 0 && o.own_users.len() < o.instances.len() {
        anyhow::bail!("--own-users: one user per instance needed ({} instances)", o.instances.len());
    }
    if o.hot_clients > 0 && o.hot_users.is_empty() {
        anyhow::bail!("--hot-users: at least one user");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(load_async(o))
}

async fn load_async(o: LoadOpts) -> anyhow::Result<ExitCode> {
    let file = std::fs::File::create(&o.out).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", o.out))?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs_f64(o.timeout))
        .connect_timeout(Duration::from_secs(5))
        .build()?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(o.seconds);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let writer = tokio::task::spawn_blocking(move || -> std::io::Result<BTreeMap<(u64, String), u64>> {
        let mut out = std::io::BufWriter::new(file);
        let mut counts = BTreeMap::new();
        while let Some(record) = rx.blocking_recv() {
            let instance = record["instance"].as_u64().unwrap_or(0);
            let answer = record["answer"].as_str().unwrap_or("").to_string();
            *counts.entry((instance, answer)).or_default() += 1;
            writeln!(out, "{record}")?;
        }
        out.flush()?;
        Ok(counts)
    });

    let mut tasks = Vec::new();
    for (i, base) in o.instances.iter().enumerate() {
        let instance = i + 1;
        let url = format!("{}{UPDATE}", base.trim_end_matches('/'));
        for c in 0..o.hot_clients + o.own_clients {
            let user_id = if c < o.hot_clients { o.hot_users[c % o.hot_users.len()] } else { o.own_users[i] };
            let (client, url, tx, user, key) = (client.clone(), url.clone(), tx.clone(), o.user.clone(), o.key.clone());
            tasks.push(tokio::spawn(async move {
                let mut seq = 0u64;
                while Instant::now() < deadline {
                    seq += 1;
                    let token = format!("i{instance}c{c}n{seq}");
                    let uid = user_id.to_string();
                    let pairs: Vec<(&str, &str)> =
                        vec![("user_id", uid.as_str()), (FIELDS[0].0, token.as_str()), (FIELDS[1].0, token.as_str())];
                    let hash = sign(&Params::from_pairs(pairs.iter().copied()), &key, Variant::Documented);
                    let body = form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(pairs.iter().copied())
                        .append_pair("u", &user)
                        .append_pair("hash", &hash)
                        .finish();
                    let sent_at = started.elapsed().as_secs_f64();
                    let resp = client
                        .post(&url)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body)
                        .send()
                        .await;
                    let (answer, status, request_id, text) = match resp {
                        Err(e) => ("unknown", 0, String::new(), format!("no answer: {e}")),
                        Ok(r) => {
                            let status = r.status().as_u16();
                            let rid = r
                                .headers()
                                .get("x-request-id")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_string();
                            match r.text().await {
                                Ok(text) => (classify(&text), status, rid, text),
                                Err(e) => ("unknown", status, rid, format!("answer cut off: {e}")),
                            }
                        }
                    };
                    let mut record = json!({
                        "instance": instance, "client": c, "seq": seq, "request_id": request_id,
                        "user_id": user_id, "token": token,
                        "fields": { FIELDS[0].1: token, FIELDS[1].1: token },
                        "answer": answer, "status": status,
                        "sent": (sent_at * 1000.0).round() / 1000.0,
                        "answered": (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
                    });
                    if answer != "updated" {
                        record["body"] = Value::String(text.trim().to_string());
                    }
                    if tx.send(record).is_err() {
                        return;
                    }
                    if answer != "updated" {
                        // Do not spin while a node is down.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }));
        }
    }
    drop(tx);
    for t in tasks {
        t.await?;
    }
    let counts = writer.await??;
    let elapsed = started.elapsed().as_secs_f64();
    let total: u64 = counts.values().sum();
    println!("load: {total} requests in {elapsed:.1} s");
    for (i, _) in o.instances.iter().enumerate() {
        let n = |a: &str| counts.get(&((i + 1) as u64, a.to_string())).copied().unwrap_or(0);
        println!(
            "load: instance {}: {} updated, {} refused, {} unknown, {} other",
            i + 1,
            n("updated"),
            n("refused_nothing_changed"),
            n("unknown"),
            n("other")
        );
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------
// check

/// One request as recorded by `load`.
struct Sent {
    instance: u64,
    request_id: String,
    user_id: i64,
    token: String,
    fields: Vec<(String, String)>,
    answer: String,
    sent: f64,
    body: String,
}

impl Sent {
    fn describe(&self) -> String {
        let rid = if self.request_id.is_empty() { "-" } else { &self.request_id };
        format!(
            "{} user {} (instance {}, request {rid}, sent at {:.1} s)",
            self.token, self.user_id, self.instance, self.sent
        )
    }
}

/// The `<error>` line of an answer, or the whole answer.
fn error_text(body: &str) -> String {
    body.lines().find(|l| l.contains("<error>")).unwrap_or(body).trim().to_string()
}

fn read_results(path: &str) -> anyhow::Result<Vec<Sent>> {
    let file = std::fs::File::open(path).map_err(|e| anyhow::anyhow!("cannot open {path}: {e}"))?;
    let mut out = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&line).map_err(|e| anyhow::anyhow!("{path}:{}: {e}", n + 1))?;
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        let fields = v["fields"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
            .unwrap_or_default();
        out.push(Sent {
            instance: v["instance"].as_u64().unwrap_or(0),
            request_id: s("request_id"),
            user_id: v["user_id"].as_i64().ok_or_else(|| anyhow::anyhow!("{path}:{}: no user_id", n + 1))?,
            token: s("token"),
            fields,
            answer: s("answer"),
            sent: v["sent"].as_f64().unwrap_or(0.0),
            body: s("body"),
        });
    }
    Ok(out)
}

/// One `change` row of `audit_log`.
struct AuditRow {
    id: u64,
    request_id: String,
    target_id: Option<i64>,
    field: String,
    old_value: String,
    new_value: String,
}

/// What one node holds.
struct Node {
    name: String,
    audit: Vec<AuditRow>,
    /// (user id, column) → stored value.
    stored: HashMap<(i64, String), String>,
    checksums: BTreeMap<String, Option<u64>>,
}

fn read_node(name: String, url: &str, users: &BTreeSet<i64>) -> anyhow::Result<Node> {
    let opts = mysql::Opts::from_url(url).map_err(|e| anyhow::anyhow!("{name}: bad URL: {e}"))?;
    let opts: mysql::Opts =
        mysql::OptsBuilder::from_opts(opts).tcp_connect_timeout(Some(Duration::from_secs(10))).into();
    let mut conn = mysql::Conn::new(opts).map_err(|e| anyhow::anyhow!("{name}: cannot connect: {e}"))?;
    // Causal reads: everything committed anywhere in the cluster before is applied here first.
    let _ = conn.query_drop("SET SESSION wsrep_sync_wait = 1");
    let q = |e: mysql::Error| anyhow::anyhow!("{name}: {e}");
    let audit = conn
        .query_map(
            "SELECT id, request_id, target_id, field, old_value, new_value FROM audit_log WHERE event = 'change'",
            |(id, request_id, target_id, field, old_value, new_value)| AuditRow {
                id,
                request_id,
                target_id,
                field,
                old_value,
                new_value,
            },
        )
        .map_err(q)?;
    let mut stored = HashMap::new();
    if !users.is_empty() {
        let ids: Vec<String> = users.iter().map(i64::to_string).collect();
        let columns: Vec<&str> = FIELDS.iter().map(|f| f.1).collect();
        let sql = format!("SELECT id, {} FROM users WHERE id IN ({})", columns.join(", "), ids.join(","));
        for row in conn.query_iter(sql).map_err(q)? {
            let row = row.map_err(q)?;
            let id: i64 = row.get(0).ok_or_else(|| anyhow::anyhow!("{name}: users.id"))?;
            for (i, c) in columns.iter().enumerate() {
                let v: Option<String> = row.get_opt(i + 1).and_then(Result::ok).flatten();
                stored.insert((id, c.to_string()), v.unwrap_or_default());
            }
        }
    }
    let checksums =
        conn.query::<(String, Option<u64>), _>("CHECKSUM TABLE users, addresses, taxes, audit_log").map_err(q)?;
    Ok(Node { name, audit, stored, checksums: checksums.into_iter().collect() })
}

/// The demo's initial values of the audited columns, from the library's own demo dataset
/// (loaded into a scratch SQLite file).
fn initial_values(users: &BTreeSet<i64>) -> anyhow::Result<HashMap<(i64, String), String>> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let db = morapi::storage::Database::open(&url)?;
        morapi::storage::demo::load(&db).await?;
        let mut out = HashMap::new();
        for &id in users {
            let user = db.administer(move |repo| Ok(Tx::Rollback(repo.user_by_id(id)?))).await?;
            let user = user.ok_or_else(|| anyhow::anyhow!("user {id} is not in the demo data"))?;
            for (_, col) in FIELDS {
                out.insert((id, col.to_string()), morapi::storage::text(&user, col));
            }
        }
        Ok(out)
    })
}

/// A node's change rows by (target user, column, new value).
type ByValue<'a> = HashMap<(i64, &'a str, &'a str), Vec<&'a AuditRow>>;

/// Anomalies of one kind, each once (the same anomaly seen on several nodes counts once).
#[derive(Default)]
struct Found {
    keys: BTreeSet<String>,
    details: Vec<String>,
}

impl Found {
    fn add(&mut self, key: String, detail: impl FnOnce() -> String) {
        if self.keys.insert(key) {
            self.details.push(detail());
        }
    }
    fn len(&self) -> usize {
        self.keys.len()
    }
}

/// The (user, column) chains of one node: checks them and returns, for each, the set of values
/// on the path from the initial value to the stored value.
fn chains(
    node: &Node,
    initial: &HashMap<(i64, String), String>,
    breaks: &mut Found,
) -> HashMap<(i64, String), HashSet<String>> {
    let mut groups: BTreeMap<(i64, String), Vec<&AuditRow>> = BTreeMap::new();
    for r in &node.audit {
        if let Some(t) = r.target_id {
            groups.entry((t, r.field.clone())).or_default();
        }
    }
    for key in initial.keys() {
        groups.entry(key.clone()).or_default();
    }
    for r in &node.audit {
        if let Some(t) = r.target_id {
            groups.entry((t, r.field.clone())).or_default().push(r);
        }
    }
    let mut paths = HashMap::new();
    for ((user, col), rows) in groups {
        // Only the columns and users the load changed are chained against the demo.
        let Some(init) = initial.get(&(user, col.clone())) else { continue };
        let Some(stored) = node.stored.get(&(user, col.clone())) else {
            breaks.add(format!("{user}/{col}/missing"), || {
                format!("chain break: user {user} is missing on {}", node.name)
            });
            continue;
        };
        let mut by_old: HashMap<&str, Vec<&AuditRow>> = HashMap::new();
        let mut by_new: HashMap<&str, &AuditRow> = HashMap::new();
        for r in &rows {
            by_old.entry(r.old_value.as_str()).or_default().push(r);
            by_new.entry(r.new_value.as_str()).or_insert(r);
        }
        for (old, next) in &by_old {
            if next.len() > 1 {
                let news: Vec<String> = next.iter().map(|r| format!("{} (row {})", r.new_value, r.id)).collect();
                breaks.add(format!("{user}/{col}/fork/{old}"), || {
                    format!("chain break: user {user} {col}: fork, {old:?} changed to {}", news.join(" and "))
                });
            }
            if *old != init.as_str() && !by_new.contains_key(old) {
                let r = next[0];
                breaks.add(format!("{user}/{col}/orphan/{old}"), || {
                    format!(
                        "chain break: user {user} {col}: row {} changes {old:?} → {:?}, a value nothing set",
                        r.id, r.new_value
                    )
                });
            }
        }
        if let Some(next) = by_old.get(stored.as_str()) {
            breaks.add(format!("{user}/{col}/end/{stored}"), || {
                format!(
                    "chain break: user {user} {col} on {}: stored {stored:?} is not the chain's end (row {} changes it to {:?})",
                    node.name, next[0].id, next[0].new_value
                )
            });
        }
        // Walk back from the stored value to the initial one.
        let mut path = HashSet::new();
        let mut at = stored.as_str();
        let mut reached = true;
        while at != init.as_str() {
            if !path.insert(at.to_string()) {
                reached = false;
                break;
            }
            match by_new.get(at) {
                Some(r) => at = r.old_value.as_str(),
                None => {
                    reached = false;
                    break;
                }
            }
        }
        if !reached {
            breaks.add(format!("{user}/{col}/unreachable/{stored}"), || {
                format!(
                    "chain break: user {user} {col} on {}: stored {stored:?} is not reached from the initial {init:?} ({} rows)",
                    node.name,
                    rows.len()
                )
            });
        }
        paths.insert((user, col), path);
    }
    paths
}

fn check(o: CheckOpts) -> anyhow::Result<ExitCode> {
    let sent = read_results(&o.results)?;
    let users: BTreeSet<i64> = sent.iter().map(|s| s.user_id).collect();
    let initial = initial_values(&users)?;
    let mut nodes = Vec::new();
    for (i, url) in o.nodes.iter().enumerate() {
        nodes.push(read_node(format!("node {}", i + 1), url, &users)?);
    }

    let count = |a: &str| sent.iter().filter(|s| s.answer == a).count();
    let (updated, refused, unknown, other) =
        (count("updated"), count("refused_nothing_changed"), count("unknown"), count("other"));

    let mut lost = Found::default();
    let mut twice = Found::default();
    let mut refused_changed = Found::default();
    let mut breaks = Found::default();

    // Applied twice: one request id with two rows for a field; one value set by two rows.
    for node in &nodes {
        let mut by_rid: HashMap<(&str, &str), Vec<&AuditRow>> = HashMap::new();
        let mut by_value: HashMap<(Option<i64>, &str, &str), Vec<&AuditRow>> = HashMap::new();
        for r in &node.audit {
            by_rid.entry((r.request_id.as_str(), r.field.as_str())).or_default().push(r);
            by_value.entry((r.target_id, r.field.as_str(), r.new_value.as_str())).or_default().push(r);
        }
        for ((rid, field), rows) in by_rid {
            if rows.len() > 1 {
                let t = rows[0].target_id.unwrap_or(-1);
                twice.add(format!("{t}:{}", rows[0].new_value), || {
                    let ids: Vec<String> = rows.iter().map(|r| r.id.to_string()).collect();
                    format!(
                        "applied twice: request {rid} has {} {field} rows on {} (ids {})",
                        rows.len(),
                        node.name,
                        ids.join(",")
                    )
                });
            }
        }
        for ((target, field, value), rows) in by_value {
            if rows.len() > 1 {
                let t = target.unwrap_or(-1);
                twice.add(format!("{t}:{value}"), || {
                    let rs: Vec<String> = rows
                        .iter()
                        .map(|r| format!("{} ({:?}→, request {})", r.id, r.old_value, r.request_id))
                        .collect();
                    format!(
                        "applied twice: user {t} {field} set to {value:?} by {} rows on {}: {}",
                        rows.len(),
                        node.name,
                        rs.join(", ")
                    )
                });
            }
        }
    }

    let paths: Vec<_> = nodes.iter().map(|n| chains(n, &initial, &mut breaks)).collect();

    // Per node: (target, column, new value) → rows, and the request ids that changed something.
    let indexes: Vec<(ByValue, HashMap<&str, &AuditRow>)> = nodes
        .iter()
        .map(|n| {
            let mut by_value = ByValue::new();
            let mut by_rid = HashMap::new();
            for r in &n.audit {
                by_value
                    .entry((r.target_id.unwrap_or(-1), r.field.as_str(), r.new_value.as_str()))
                    .or_default()
                    .push(r);
                by_rid.entry(r.request_id.as_str()).or_insert(r);
            }
            (by_value, by_rid)
        })
        .collect();

    // Lost: an acknowledged request's rows or values missing on some node.
    // Changed though refused: a refused request's id or values in the audit trail.
    let mut unknown_applied = 0;
    for s in &sent {
        match s.answer.as_str() {
            "updated" => {
                // Per node, what is missing; nodes with the same problems are named together.
                let mut problems: Vec<(String, Vec<usize>)> = Vec::new();
                for (n, (path, (by_value, _))) in paths.iter().zip(&indexes).enumerate() {
                    let mut missing = Vec::new();
                    for (col, value) in &s.fields {
                        let rows = by_value.get(&(s.user_id, col.as_str(), value.as_str()));
                        let has_row = rows.is_some_and(|rows| {
                            rows.iter().any(|r| s.request_id.is_empty() || r.request_id == s.request_id)
                        });
                        if !has_row {
                            missing.push(format!("no {col} audit row"));
                        } else if !path.get(&(s.user_id, col.clone())).is_some_and(|p| p.contains(value)) {
                            missing.push(format!("{col} off the chain"));
                        }
                    }
                    if !missing.is_empty() {
                        let missing = missing.join(", ");
                        match problems.iter_mut().find(|(m, _)| *m == missing) {
                            Some((_, nodes)) => nodes.push(n + 1),
                            None => problems.push((missing, vec![n + 1])),
                        }
                    }
                }
                if !problems.is_empty() {
                    let text: Vec<String> = problems
                        .iter()
                        .map(|(m, ns)| {
                            let ns: Vec<String> = ns.iter().map(usize::to_string).collect();
                            format!("{m} on node {}", ns.join(","))
                        })
                        .collect();
                    lost.add(s.token.clone(), || format!("lost: {}: {}", s.describe(), text.join("; ")));
                }
            }
            "refused_nothing_changed" => {
                for (node, (by_value, by_rid)) in nodes.iter().zip(&indexes) {
                    let by_id = if s.request_id.is_empty() { None } else { by_rid.get(s.request_id.as_str()).copied() };
                    let hit = by_id.or_else(|| {
                        s.fields.iter().find_map(|(c, v)| {
                            by_value.get(&(s.user_id, c.as_str(), v.as_str())).and_then(|rows| rows.first().copied())
                        })
                    });
                    if let Some(r) = hit {
                        refused_changed.add(s.token.clone(), || {
                            format!(
                                "changed though refused: {} answered {:?}, yet {} row {} sets {} to {:?}",
                                s.describe(),
                                error_text(&s.body),
                                node.name,
                                r.id,
                                r.field,
                                r.new_value
                            )
                        });
                    }
                }
            }
            "unknown" => {
                let applied = indexes.iter().any(|(by_value, _)| {
                    s.fields.iter().any(|(c, v)| by_value.contains_key(&(s.user_id, c.as_str(), v.as_str())))
                });
                unknown_applied += usize::from(applied);
            }
            _ => {}
        }
    }

    // Checksums.
    let mut checksum_diff = Vec::new();
    if let Some(first) = nodes.first() {
        for (table, sum) in &first.checksums {
            let differ = nodes.iter().any(|n| n.checksums.get(table) != Some(sum));
            if differ {
                let all: Vec<String> = nodes
                    .iter()
                    .map(|n| {
                        format!(
                            "{}={}",
                            n.name,
                            n.checksums.get(table).copied().flatten().map_or("-".into(), |c| c.to_string())
                        )
                    })
                    .collect();
                checksum_diff.push(format!("checksum of {table} differs: {}", all.join(" ")));
            }
        }
    }
    let audit_counts: Vec<String> = nodes.iter().map(|n| format!("{} {}", n.name, n.audit.len())).collect();
    println!("check: change audit rows: {}", audit_counts.join(", "));
    if unknown > 0 {
        println!("check: {unknown} unknown answers, {unknown_applied} of them applied");
    }

    // Details: a few of each kind, at most max_details lines in all.
    let others: Vec<String> = sent
        .iter()
        .filter(|s| s.answer == "other")
        .map(|s| format!("other answer: {}: {}", s.describe(), s.body.replace('\n', " ")))
        .collect();
    let kinds = [&others, &lost.details, &twice.details, &refused_changed.details, &breaks.details, &checksum_diff];
    let total: usize = kinds.iter().map(|k| k.len()).sum();
    let mut shown = 0;
    for kind in kinds {
        for d in kind.iter().take(4) {
            if shown < o.max_details {
                println!("{d}");
                shown += 1;
            }
        }
    }
    if total > shown {
        println!("… and {} more", total - shown);
    }
    if updated > 0 && lost.len() + twice.len() > 0 {
        println!(
            "check: {:.2}% of updated requests lost, {:.2}% applied twice",
            100.0 * lost.len() as f64 / updated as f64,
            100.0 * twice.len() as f64 / updated as f64
        );
    }

    let (starts_ok, starts_text) = match &o.first_starts {
        Some(fs) => {
            let ok = fs.split_once('/').is_some_and(|(a, b)| a == b);
            (ok, format!("; first starts {fs} rounds all up"))
        }
        None => (true, String::new()),
    };
    let checksums =
        if checksum_diff.is_empty() { "checksums equal".to_string() } else { "checksums DIFFER".to_string() };
    println!(
        "galera: {} requests ({updated} updated, {refused} refused, {unknown} unknown, {other} other); {} lost, {} applied twice, {} changed-though-refused, {} chain breaks; {checksums}{starts_text}",
        sent.len(),
        lost.len(),
        twice.len(),
        refused_changed.len(),
        breaks.len()
    );
    let bad = other > 0
        || lost.len() + twice.len() + refused_changed.len() + breaks.len() > 0
        || !checksum_diff.is_empty()
        || !starts_ok
        || sent.is_empty();
    Ok(if bad { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
