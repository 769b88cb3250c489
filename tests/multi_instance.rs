//! Several morapi instances on one database: concurrent updates of the same users through two
//! servers lose nothing, half-apply nothing, and the audit trail holds exactly one row per
//! applied change, chained old → new in commit order. Runs on the engine of
//! `MORAPI_TEST_DATABASE` (two writers on one SQLite file by default).

mod common;
use common::*;
use std::collections::HashMap;

const USERS: [&str; 3] = ["123", "789", "200"];
const ROUNDS: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_update_the_same_users_without_losing_anything() {
    let a = TestApp::spawn().await;
    let b = a.spawn_second().await;
    let mut tasks = Vec::new();
    for (name, base) in [("a", a.base.clone()), ("b", b.base.clone())] {
        for (u, user) in USERS.iter().enumerate() {
            let base = base.clone();
            tasks.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut sent = Vec::new();
                for i in 0..ROUNDS {
                    // Different fields per instance (first/last name), and one field both change.
                    let own_field = if name == "a" { "u17" } else { "u23" };
                    let own_value = format!("{name}{u}n{i}");
                    let shared = format!("{name}{u}v{i}");
                    let pairs = [("user_id", *user), (own_field, own_value.as_str()), ("u0", shared.as_str())];
                    let hash = sign_pairs(&pairs, ADMIN_KEY);
                    let mut all = pairs.to_vec();
                    all.push(("u", "admin"));
                    all.push(("hash", &hash));
                    let body = client
                        .post(format!("{base}{UPDATE}"))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(form(&all))
                        .send()
                        .await
                        .expect("request")
                        .text()
                        .await
                        .expect("body");
                    assert_eq!(body, updated(), "instance {name}, user {user}, round {i}");
                    sent.push((user.to_string(), own_field, own_value, shared));
                }
                sent
            }));
        }
    }
    let mut sent = Vec::new();
    for t in tasks {
        sent.extend(t.await.expect("client task"));
    }
    assert_eq!(sent.len(), 2 * USERS.len() * ROUNDS);

    let audit = a.changes().await;
    // Exactly one audit row per applied change: every request changed its own field and u0.
    assert_eq!(audit.len(), sent.len() * 2, "one row per changed field");
    for user in USERS {
        let id: i64 = user.parse().expect("id");
        for (field, column) in [("u17", "last_name"), ("u23", "first_name"), ("u0", "vat_number")] {
            let rows: Vec<_> = audit.iter().filter(|e| e.target_id == Some(id) && e.field == column).collect();
            // The chain is unbroken: each change starts from the value the previous one left.
            for pair in rows.windows(2) {
                assert_eq!(pair[0].new_value, pair[1].old_value, "user {id} {column}: a lost or reordered update");
            }
            let last = rows.last().and_then(|e| e.new_value.clone()).unwrap_or_default();
            assert_eq!(a.col(id, column).await, last, "user {id} {column}: final value is the last audited one");
            let expected = if field == "u0" { 2 * ROUNDS } else { ROUNDS };
            assert_eq!(rows.len(), expected, "user {id} {column}");
        }
    }
    // Every acknowledged value appears exactly once as a new value.
    let mut counts: HashMap<(i64, String, Option<String>), usize> = HashMap::new();
    for e in &audit {
        *counts.entry((e.target_id.unwrap_or(-1), e.field.clone(), e.new_value.clone())).or_default() += 1;
    }
    for (user, own_field, own_value, shared) in &sent {
        let id: i64 = user.parse().expect("id");
        let column = if *own_field == "u17" { "last_name" } else { "first_name" };
        assert_eq!(counts.get(&(id, column.to_string(), Some(own_value.clone()))), Some(&1), "{own_value}");
        assert_eq!(counts.get(&(id, "vat_number".to_string(), Some(shared.clone()))), Some(&1), "{shared}");
    }
}
