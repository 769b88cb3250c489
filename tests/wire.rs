//! The wire contract of docs/contract.md §1–§3 and docs/decisions.md ("Wire", "Authentication"):
//! paths, methods, parameter sources and precedence, limits, the response envelope, and the hash
//! (including every hash vector of docs/contract.md §11, sent with its literal hash).

mod common;
use common::*;
use morapi::storage::AuditEvent;
use reqwest::Method;

const PATHS: [&str; 4] = [
    "/billing/api/user_details_update",
    "/billing/api/user_update_api",
    "/api/user_details_update",
    "/api/user_update_api",
];

/// H1, the seed's own signature: `user_id=123`, `u15=1`, key `456789`.
const H1: &str = "0ab3ede4e93a55c38855a2cc9b9e169d35442c48";

const XML: &str = "text/xml; charset=utf-8";

/// Query string (or form body) of a signed request as `u`.
fn signed_query(u: &str, key: &str, pairs: &[(&str, &str)]) -> String {
    let hash = sign_pairs(pairs, key);
    let mut all = pairs.to_vec();
    all.push(("u", u));
    all.push(("hash", &hash));
    form(&all)
}

/// Sends `pairs` as admin with a literal `hash` in the query string (POST).
async fn post_with_hash(app: &TestApp, pairs: &[(&str, &str)], hash: &str) -> Reply {
    let mut all = pairs.to_vec();
    all.push(("u", "admin"));
    all.push(("hash", hash));
    app.post(&format!("{UPDATE}?{}", form(&all))).await
}

/// Asserts an HTTP 200 XML answer with exactly `expected`.
fn assert_xml(r: &Reply, expected: &str) {
    assert_eq!(r.status, 200, "status of {r:?}");
    assert_eq!(r.content_type, XML, "content type of {r:?}");
    assert_eq!(r.body, expected);
}

/// Sends a request through the raw client (for headers and other verbs).
async fn send(app: &TestApp, method: Method, path_and_query: &str) -> reqwest::Response {
    app.client.request(method, format!("{}{path_and_query}", app.base)).send().await.expect("request")
}

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn all_four_paths_update_identically() {
    let app = TestApp::spawn().await;
    for (i, path) in PATHS.iter().enumerate() {
        let vat = format!("VAT{i}");
        let q = signed_query("admin", ADMIN_KEY, &[("user_id", "123"), ("u0", &vat)]);
        let r = app.post(&format!("{path}?{q}")).await;
        assert_xml(&r, &updated());
        assert_eq!(app.col(123, "vat_number").await, vat, "{path}");
        let r = app
            .post_form(
                path,
                &[
                    ("user_id", "789"),
                    ("u0", &vat),
                    ("u", "admin"),
                    ("hash", &sign_pairs(&[("user_id", "789"), ("u0", &vat)], ADMIN_KEY)),
                ],
            )
            .await;
        assert_xml(&r, &updated());
        assert_eq!(app.col(789, "vat_number").await, vat, "{path}");
    }
}

#[tokio::test]
async fn all_four_paths_refuse_identically() {
    let app = TestApp::spawn().await;
    let before = app.state().await;
    for path in PATHS {
        let r = app.post(&format!("{path}?u=admin&user_id=123&u15=1&hash={}", "0".repeat(40))).await;
        assert_xml(&r, &status_error("Incorrect hash"));
        let q = signed_query("admin", ADMIN_KEY, &[("user_id", "499"), ("u15", "1")]);
        let r = app.post(&format!("{path}?{q}")).await;
        assert_xml(&r, &page_error("User was not found", &[]));
    }
    assert_eq!(app.state().await, before);
}

#[tokio::test]
async fn the_endpoint_alias_is_recorded_in_the_audit_trail() {
    let app = TestApp::spawn().await;
    let q = signed_query("admin", ADMIN_KEY, &[("user_id", "123"), ("u15", "1")]);
    assert_xml(&app.post(&format!("/api/user_update_api?{q}")).await, &updated());
    let q = signed_query("admin", ADMIN_KEY, &[("user_id", "789"), ("u15", "1")]);
    assert_xml(&app.post(&format!("/billing/api/user_details_update?{q}")).await, &updated());
    let endpoints: Vec<String> = app.changes().await.into_iter().map(|c| c.endpoint).collect();
    assert_eq!(endpoints, vec!["user_update_api", "user_details_update"]);
}

#[tokio::test]
async fn other_api_names_answer_there_is_no_such_api() {
    let app = TestApp::spawn().await;
    let before = app.state().await;
    let q = signed_query("admin", ADMIN_KEY, &[("user_id", "123"), ("u15", "1")]);
    for path in ["/api/other", "/billing/api/other", "/api/user_details_delete", "/billing/api/user_details_updat"] {
        let r = app.post(&format!("{path}?{q}")).await;
        assert_xml(&r, &status_error("There is no such API"));
        let r = app.get(&format!("{path}?{q}")).await;
        assert_xml(&r, &status_error("There is no such API"));
    }
    assert_eq!(app.state().await, before);
    let r = app.post("/api/other").await;
    insta::assert_snapshot!("no_such_api", r.body);
}

#[tokio::test]
async fn paths_outside_the_api_answer_404_with_the_same_document() {
    let app = TestApp::spawn().await;
    let q = signed_query("admin", ADMIN_KEY, &[("user_id", "123"), ("u15", "1")]);
    for path in ["/user_details_update", "/billing/user_details_update", "/apix/user_details_update"] {
        let r = app.post(&format!("{path}?{q}")).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.content_type, XML);
        assert_eq!(r.body, status_error("There is no such API"));
    }
    assert_eq!(app.col(123, "blocked").await, "0");
}

// ---------------------------------------------------------------------------------------------
// Methods
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn post_with_a_form_body_is_always_accepted() {
    let app = TestApp::spawn().await;
    let r = app.post_form(UPDATE, &[("user_id", "123"), ("u15", "1"), ("u", "admin"), ("hash", H1)]).await;
    assert_xml(&r, &updated());
    assert_eq!(app.col(123, "blocked").await, "1");
}

#[tokio::test]
async fn get_is_refused_while_allow_get_api_is_off() {
    let app = TestApp::spawn().await;
    let before = app.state().await;
    for path in PATHS {
        let r = app.get(&format!("{path}?u=admin&user_id=123&u15=1&hash={H1}")).await;
        assert_xml(&r, &status_error("GET Requests are disabled"));
    }
    assert_eq!(app.state().await, before);
}

#[tokio::test]
async fn get_by_an_unknown_user_while_get_is_off_answers_get_requests_are_disabled() {
    let app = TestApp::spawn().await;
    let r = app.get(&format!("{UPDATE}?u=nosuchuser&user_id=123&u15=1&hash={H1}")).await;
    assert_xml(&r, &status_error("GET Requests are disabled"));
}

#[tokio::test]
async fn api_disabled_is_answered_before_get_disabled() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "allow_api", "0").await;
    let r = app.get(&format!("{UPDATE}?u=admin&user_id=123&u15=1&hash={H1}")).await;
    assert_xml(&r, &status_error("API Requests are disabled"));
}

#[tokio::test]
async fn allow_get_api_is_a_global_setting_only() {
    let app = TestApp::spawn().await;
    app.set_setting(200, "allow_get_api", "1").await;
    let q = signed_query("reseller", RESELLER_KEY, &[("user_id", "201"), ("u15", "1")]);
    assert_xml(&app.get(&format!("{UPDATE}?{q}")).await, &status_error("GET Requests are disabled"));
    assert_eq!(app.col(201, "blocked").await, "0");
    app.set_setting(0, "allow_get_api", "1").await;
    assert_xml(&app.get(&format!("{UPDATE}?{q}")).await, &updated());
    assert_eq!(app.col(201, "blocked").await, "1");
}

#[tokio::test]
async fn get_is_accepted_when_allow_get_api_is_on() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "allow_get_api", "1").await;
    let r = app.get(&format!("{UPDATE}?u=admin&user_id=123&u15=1&hash={H1}")).await;
    assert_xml(&r, &updated());
    assert_eq!(app.col(123, "blocked").await, "1");
    // A wrong hash over GET is still a wrong hash.
    let r = app.get(&format!("/api/user_update_api?u=admin&user_id=789&u15=1&hash={H1}")).await;
    assert_xml(&r, &status_error("Incorrect hash"));
    assert_eq!(app.col(789, "blocked").await, "0");
}

#[tokio::test]
async fn other_methods_answer_405_with_the_xml_envelope() {
    let app = TestApp::spawn().await;
    let before = app.state().await;
    for method in [Method::PUT, Method::DELETE, Method::PATCH] {
        for path in PATHS {
            let resp = send(&app, method.clone(), &format!("{path}?u=admin&user_id=123&u15=1&hash={H1}")).await;
            assert_eq!(resp.status().as_u16(), 405, "{method} {path}");
            assert_eq!(resp.headers().get("content-type").and_then(|v| v.to_str().ok()), Some(XML));
            assert_eq!(resp.headers().get("allow").and_then(|v| v.to_str().ok()), Some("GET, POST"));
            let body = resp.text().await.expect("body");
            assert_eq!(body, status_error("Method Not Allowed"));
        }
    }
    assert_eq!(app.state().await, before);
    let resp = send(&app, Method::PUT, UPDATE).await;
    let body = resp.text().await.expect("body");
    insta::assert_snapshot!("method_not_allowed", body);
}

// ---------------------------------------------------------------------------------------------
// Parameter sources and precedence
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_query_string_beats_the_form_body() {
    let app = TestApp::spawn().await;
    // Signed over the values that win: the query string's.
    let hash = sign_pairs(&[("user_id", "123"), ("u15", "1"), ("u23", "Query")], ADMIN_KEY);
    let r = app
        .post_raw(
            &format!("{UPDATE}?u15=1&u23=Query"),
            "application/x-www-form-urlencoded",
            form(&[("user_id", "123"), ("u15", "0"), ("u23", "Body"), ("u", "admin"), ("hash", &hash)]),
        )
        .await;
    assert_xml(&r, &updated());
    assert_eq!(app.col(123, "blocked").await, "1");
    assert_eq!(app.col(123, "first_name").await, "Query");
}

#[tokio::test]
async fn the_hash_covers_the_value_that_wins() {
    let app = TestApp::spawn().await;
    let before = app.state().await;
    // Signed over the body's value, which the query string overrides: wrong hash.
    let hash = sign_pairs(&[("user_id", "123"), ("u15", "0")], ADMIN_KEY);
    let r = app
        .post_raw(
            &format!("{UPDATE}?u15=1"),
            "application/x-www-form-urlencoded",
            form(&[("user_id", "123"), ("u15", "0"), ("u", "admin"), ("hash", &hash)]),
        )
        .await;
    assert_xml(&r, &status_error("Incorrect hash"));
    assert_eq!(app.state().await, before);
}

#[tokio::test]
async fn the_last_occurrence_wins_within_the_query_string() {
    // The seed's second example repeats u15.
    let app = TestApp::spawn().await;
    let r = app.post(&format!("{UPDATE}?u15=0&user_id=123&u=admin&u15=1&hash={H1}")).await;
    assert_xml(&r, &updated());
    assert_eq!(app.col(123, "blocked").await, "1");
}

#[tokio::test]
async fn the_seeds_third_example_with_a_real_hash_sets_the_rule_and_blocks() {
    let app = TestApp::spawn().await;
    let hash = sign_pairs(&[("user_id", "789"), ("u15", "1"), ("u16", "3")], ADMIN_KEY);
    let r = app.post(&format!("/billing/api/user_update_api?u16=3&user_id=789&u=admin&u15=1&hash={hash}")).await;
    assert_xml(&r, &updated());
    assert_eq!(app.col(789, "quickforwards_rule_id").await, "3");
    assert_eq!(app.col(789, "blocked").await, "1");
}

#[tokio::test]
async fn the_seeds_placeholder_hash_is_refused() {
    let app = TestApp::spawn().await;
    let before = app.state().await;
    let r = app
        .post("/billing/api/user_update_api?u15=1&user_id=789&u=admin&u15=1&hash=0in2w8n01rwnodv4t0y5zzfp1h5hdp1fyk7z")
        .await;
    assert_xml(&r, &status_error("Incorrect hash"));
    assert_eq!(app.state().await, before);
}

#[tokio::test]
async fn the_last_occurrence_wins_within_the_form_body() {
    let app = TestApp::spawn().await;
    let r = app
        .post_form(
            UPDATE,
            &[("u15", "0"), ("user_id", "999"), ("user_id", "123"), ("u", "admin"), ("u15", "1"), ("hash", H1)],
        )
        .await;
    assert_xml(&r, &updated());
    assert_eq!(app.col(123, "blocked").await, "1");
}

#[tokio::test]
async fn parameters_may_be_split_between_query_and_body() {
    let app = TestApp::spawn().await;
    let r = app
        .post_raw(&format!("{UPDATE}?u=admin&hash={H1}"), "application/x-www-form-urlencoded", "user_id=123&u15=1")
        .await;
    assert_xml(&r, &updated());
    assert_eq!(app.col(123, "blocked").await, "1");
}

#[tokio::test]
async fn a_body_without_content_type_is_read_as_a_form() {
    let app = TestApp::spawn().await;
    let resp = app
        .client
        .post(format!("{}{UPDATE}", app.base))
        .body(format!("u=admin&user_id=123&u15=1&hash={H1}"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.expect("body"), updated());
    assert_eq!(app.col(123, "blocked").await, "1");
}

#[tokio::test]
async fn a_body_of_another_content_type_is_ignored() {
    let app = TestApp::spawn().await;
    // Only the query string counts: signed over user_id alone (H2), the body's u15 is not seen.
    let r = app
        .post_raw(
            &format!("{UPDATE}?u=admin&user_id=123&hash=f7c3bc1d808e04732adf679965ccc34ca7ae3441"),
            "text/plain",
            "u15=1",
        )
        .await;
    assert_xml(&r, &updated());
    assert_eq!(app.col(123, "blocked").await, "0");
}

#[tokio::test]
async fn a_multipart_body_is_read_and_file_parts_are_ignored() {
    let app = TestApp::spawn().await;
    let hash = sign_pairs(&[("user_id", "123"), ("u15", "1"), ("u23", "Jonas")], ADMIN_KEY);
    let form = reqwest::multipart::Form::new()
        .text("u", "admin")
        .text("user_id", "123")
        .text("u15", "1")
        .text("u23", "Jonas")
        .part("u0", reqwest::multipart::Part::text("FROM-A-FILE").file_name("vat.txt"))
        .text("hash", hash);
    let resp = app.client.post(format!("{}{UPDATE}", app.base)).multipart(form).send().await.expect("request");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.expect("body"), updated());
    assert_eq!(app.col(123, "blocked").await, "1");
    assert_eq!(app.col(123, "first_name").await, "Jonas");
    assert_eq!(app.col(123, "vat_number").await, "");
}

#[tokio::test]
async fn a_multipart_body_without_a_boundary_is_refused() {
    let app = TestApp::spawn().await;
    let before = app.state().await;
    let r =
        app.post_raw(&format!("{UPDATE}?u=admin&user_id=123&u15=1&hash={H1}"), "multipart/form-data", "--XX\r\n").await;
    assert_xml(&r, &page_error("User was not updated", &["Request body could not be parsed"]));
    assert_eq!(app.state().await, before);
}

#[tokio::test]
async fn a_json_body_turns_numbers_and_booleans_into_strings_as_written_and_null_into_absent() {
    let app = TestApp::spawn().await;
    let hash = sign_pairs(&[("user_id", "123"), ("u15", "1"), ("credit", "1.50"), ("u6", "10")], ADMIN_KEY);
    let body = format!(r#"{{"u":"admin","user_id":123,"u15":true,"credit":1.50,"u6":10,"u0":null,"hash":"{hash}"}}"#);
    let r = app.post_raw(UPDATE, "application/json", body).await;
    assert_xml(&r, &updated());
    assert_eq!(app.col(123, "blocked").await, "1");
    assert_eq!(app.col(123, "credit").await, "1.5");
    assert_eq!(app.col(123, "warning_email_balance").await, "10");
    assert_eq!(app.col(123, "vat_number").await, "");
    // false → "0".
    let hash = sign_pairs(&[("user_id", "123"), ("u15", "0")], ADMIN_KEY);
    let body = format!(r#"{{"u":"admin","user_id":"123","u15":false,"hash":"{hash}"}}"#);
    let r = app.post_raw(UPDATE, "application/json; charset=utf-8", body).await;
    assert_xml(&r, &updated());
    assert_eq!(app.col(123, "blocked").await, "0");
}

#[tokio::test]
async fn a_json_number_enters_the_hash_exactly_as_written() {
    let app = TestApp::spawn().await;
    let before = app.state().await;
    // Signed over "1.5" while the body says 1.50: the raw text counts, so the hash is wrong.
    let hash = sign_pairs(&[("user_id", "123"), ("credit", "1.5")], ADMIN_KEY);
    let body = format!(r#"{{"u":"admin","user_id":123,"credit":1.50,"hash":"{hash}"}}"#);
    let r = app.post_raw(UPDATE, "application/json", body).await;
    assert_xml(&r, &status_error("Incorrect hash"));
    assert_eq!(app.state().await, before);
}

#[tokio::test]
async fn a_repeated_json_key_takes_its_last_value() {
    let app = TestApp::spawn().await;
    let body = format!(r#"{{"u":"admin","user_id":123,"u15":0,"u15":1,"hash":"{H1}"}}"#);
    let r = app.post_raw(UPDATE, "application/json", body).await;
    assert_xml(&r, &updated());
    assert_eq!(app.col(123, "blocked").await, "1");
}

#[tokio::test]
async fn the_query_string_beats_a_json_body() {
    let app = TestApp::spawn().await;
    let body = format!(r#"{{"u":"admin","user_id":123,"u15":0,"hash":"{H1}"}}"#);
    let r = app.post_raw(&format!("{UPDATE}?u15=1"), "application/json", body).await;
    assert_xml(&r, &updated());
    assert_eq!(app.col(123, "blocked").await, "1");
}

#[tokio::test]
async fn a_nested_json_value_is_refused_naming_the_parameter() {
    let app = TestApp::spawn().await;
    let before = app.state().await;
    let r = app
        .post_raw(UPDATE, "application/json", format!(r#"{{"u":"admin","user_id":123,"u15":[1],"hash":"{H1}"}}"#))
        .await;
    assert_xml(&r, &page_error("User was not updated", &["u15: nested JSON arrays and objects are not accepted"]));
    insta::assert_snapshot!("json_nested_value", r.body);
    let r = app
        .post_raw(UPDATE, "application/json", format!(r#"{{"u":"admin","user_id":123,"a8":{{"x":1}},"hash":"{H1}"}}"#))
        .await;
    assert_xml(&r, &page_error("User was not updated", &["a8: nested JSON arrays and objects are not accepted"]));
    assert_eq!(app.state().await, before);
}

#[tokio::test]
async fn broken_json_and_json_that_is_not_an_object_are_refused() {
    let app = TestApp::spawn().await;
    let before = app.state().await;
    let expected = page_error("User was not updated", &["Request body could not be parsed"]);
    for body in [r#"{"u":"admin","#, "[1,2]", "\"u=admin\"", "12"] {
        let r = app.post_raw(&format!("{UPDATE}?u=admin&user_id=123&u15=1&hash={H1}"), "application/json", body).await;
        assert_xml(&r, &expected);
    }
    assert_eq!(app.state().await, before);
}

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_body_of_exactly_the_limit_is_accepted() {
    let app = TestApp::spawn().await;
    let base = signed_query("admin", ADMIN_KEY, &[("user_id", "123"), ("u15", "1")]);
    let limit = *morapi::http::limits::MAX_BODY;
    let pad = limit - base.len() - "&pad=".len();
    let body = format!("{base}&pad={}", "x".repeat(pad));
    assert_eq!(body.len(), limit);
    let r = app.post_raw(UPDATE, "application/x-www-form-urlencoded", body).await;
    assert_xml(&r, &updated());
    assert_eq!(app.col(123, "blocked").await, "1");
}

#[tokio::test]
async fn a_body_over_the_limit_answers_413_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let before = app.state().await;
    let base = signed_query("admin", ADMIN_KEY, &[("user_id", "123"), ("u15", "1")]);
    let limit = *morapi::http::limits::MAX_BODY;
    let pad = limit + 1 - base.len() - "&pad=".len();
    let body = format!("{base}&pad={}", "x".repeat(pad));
    assert_eq!(body.len(), limit + 1);
    let r = app.post_raw(UPDATE, "application/x-www-form-urlencoded", body).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.content_type, XML);
    assert_eq!(r.body, status_error("Request body is too large"));
    insta::assert_snapshot!("body_too_large", r.body);
    assert_eq!(app.state().await, before);
    assert!(app.audit().await.is_empty());
}

#[tokio::test]
async fn invalid_utf8_is_refused_wherever_it_appears() {
    let app = TestApp::spawn().await;
    let before = app.state().await;
    let expected = page_error("User was not updated", &["Request parameters are not valid UTF-8"]);
    // In a form body, raw and percent-encoded.
    let mut raw = format!("u=admin&user_id=123&u15=1&hash={H1}&u0=").into_bytes();
    raw.push(0xFF);
    let r = app.post_raw(UPDATE, "application/x-www-form-urlencoded", raw).await;
    assert_xml(&r, &expected);
    let r = app
        .post_raw(UPDATE, "application/x-www-form-urlencoded", format!("u=admin&user_id=123&u15=1&hash={H1}&u0=%FF"))
        .await;
    assert_xml(&r, &expected);
    // In the query string.
    let r = app.post(&format!("{UPDATE}?u=admin&user_id=123&u15=1&hash={H1}&u23=%C3%28")).await;
    assert_xml(&r, &expected);
    // In a JSON body.
    let mut json = format!(r#"{{"u":"admin","user_id":123,"u15":1,"hash":"{H1}","u0":""#).into_bytes();
    json.extend_from_slice(&[0xC3, 0x28, b'"', b'}']);
    let r = app.post_raw(UPDATE, "application/json", json).await;
    assert_xml(&r, &expected);
    // In a multipart text part.
    let form = reqwest::multipart::Form::new()
        .text("u", "admin")
        .text("user_id", "123")
        .text("u15", "1")
        .text("hash", H1)
        .part("u0", reqwest::multipart::Part::bytes(vec![0xFF, 0xFE]));
    let resp = app.client.post(format!("{}{UPDATE}", app.base)).multipart(form).send().await.expect("request");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.expect("body"), expected);
    assert_eq!(app.state().await, before);
}

#[tokio::test]
async fn p_and_test_are_accepted_and_ignored() {
    let app = TestApp::spawn().await;
    let r = app.post(&format!("{UPDATE}?u=admin&p=clear-text-password&test=1&user_id=123&u15=1&hash={H1}")).await;
    assert_xml(&r, &updated());
    assert_eq!(app.col(123, "blocked").await, "1");
    let r = app
        .post_form(
            UPDATE,
            &[
                ("u", "admin"),
                ("p", "x"),
                ("test", "0"),
                ("user_id", "789"),
                ("u15", "1"),
                ("hash", &sign_pairs(&[("user_id", "789"), ("u15", "1")], ADMIN_KEY)),
            ],
        )
        .await;
    assert_xml(&r, &updated());
    assert_eq!(app.col(789, "blocked").await, "1");
}

// ---------------------------------------------------------------------------------------------
// Response
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_mor_outcome_is_http_200_with_an_xml_content_type() {
    let app = TestApp::spawn().await;
    let signed = |pairs: &[(&str, &str)]| format!("{UPDATE}?{}", signed_query("admin", ADMIN_KEY, pairs));
    let cases: Vec<(String, String)> = vec![
        (signed(&[("user_id", "123"), ("u15", "1")]), updated()),
        (format!("{UPDATE}?u=admin&user_id=123&hash=bad"), status_error("Incorrect hash")),
        (
            format!("{UPDATE}?u=john&user_id=123&hash=f7c3bc1d808e04732adf679965ccc34ca7ae3441"),
            page_error("Access Denied", &[]),
        ),
        (signed(&[("user_id", "499")]), page_error("User was not found", &[])),
        (signed(&[("user_id", "123"), ("u5", "99")]), page_error("Tariff not found", &[])),
        (
            signed(&[("user_id", "123"), ("u15", "x")]),
            page_error("User was not updated", &["u15 (blocked) must be 0 or 1, got \"x\""]),
        ),
        ("/api/nothing".to_string(), status_error("There is no such API")),
    ];
    for (path, expected) in cases {
        let r = app.post(&path).await;
        assert_xml(&r, &expected);
    }
    let r = app.get(&format!("{UPDATE}?u=admin&user_id=123&hash={H1}")).await;
    assert_xml(&r, &status_error("GET Requests are disabled"));
    app.set_setting(0, "allow_api", "0").await;
    let r = app.post(&format!("{UPDATE}?u=admin&user_id=123&hash={H1}")).await;
    assert_xml(&r, &status_error("API Requests are disabled"));
}

#[tokio::test]
async fn every_answer_carries_a_request_id_that_the_audit_trail_repeats() {
    let app = TestApp::spawn().await;
    let resp = send(&app, Method::POST, &format!("{UPDATE}?u=admin&user_id=123&u15=1&hash={H1}")).await;
    let id = resp.headers().get("x-request-id").and_then(|v| v.to_str().ok()).expect("x-request-id").to_string();
    assert!(!id.is_empty());
    let changes = app.changes().await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].request_id, id);
    // Refusals carry one too, and a different one.
    let resp = send(&app, Method::POST, &format!("{UPDATE}?u=admin&user_id=499&hash=bad")).await;
    let other = resp.headers().get("x-request-id").and_then(|v| v.to_str().ok()).expect("x-request-id").to_string();
    assert_ne!(other, id);
    for (method, path) in [(Method::DELETE, UPDATE), (Method::POST, "/nowhere"), (Method::GET, "/api/other")] {
        let resp = send(&app, method, path).await;
        assert!(resp.headers().get("x-request-id").is_some(), "{path}");
    }
    let resp = app
        .client
        .post(format!("{}{UPDATE}", app.base))
        .body(vec![b'x'; *morapi::http::limits::MAX_BODY + 1])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 413);
    assert!(resp.headers().get("x-request-id").is_some());
}

#[tokio::test]
async fn text_in_answers_is_xml_escaped() {
    let app = TestApp::spawn().await;
    let q = signed_query("admin", ADMIN_KEY, &[("user_id", "123"), ("time_zone", "<Mars & Venus>")]);
    let r = app.post(&format!("{UPDATE}?{q}")).await;
    assert_xml(&r, &page_error("User was not updated", &["Time zone was not found: &lt;Mars &amp; Venus&gt;"]));
    insta::assert_snapshot!("escaped_message", r.body);
}

// ---------------------------------------------------------------------------------------------
// The hash (docs/contract.md §3)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_upper_case_hash_is_accepted() {
    let app = TestApp::spawn().await;
    let r = app.post(&format!("{UPDATE}?u=admin&user_id=123&u15=1&hash={}", H1.to_uppercase())).await;
    assert_xml(&r, &updated());
    assert_eq!(app.col(123, "blocked").await, "1");
}

#[tokio::test]
async fn a_hash_of_39_or_41_characters_or_none_is_refused() {
    let app = TestApp::spawn().await;
    let before = app.state().await;
    for hash in [&H1[..39], &format!("{H1}0"), &format!("{H1}a"), ""] {
        let r = app.post(&format!("{UPDATE}?u=admin&user_id=123&u15=1&hash={hash}")).await;
        assert_xml(&r, &status_error("Incorrect hash"));
    }
    let r = app.post(&format!("{UPDATE}?u=admin&user_id=123&u15=1")).await;
    assert_xml(&r, &status_error("Incorrect hash"));
    assert_eq!(app.state().await, before);
}

#[tokio::test]
async fn the_order_of_parameters_in_the_request_does_not_matter() {
    let app = TestApp::spawn().await;
    let r = app
        .post(&format!(
            "{UPDATE}?company_name=ACME&a8=john%40example.com&hash=6dfdac221d1a13091cf6d95128b075bd3daad48d&credit=10.5&u25=1&u15=0&u5=2&u=admin&user_id=123"
        ))
        .await;
    assert_xml(&r, &updated());
    assert_eq!(app.col(123, "tariff_id").await, "2");
}

#[tokio::test]
async fn h3_the_documented_hash_with_user_warning_email_hour_and_pgui_is_accepted() {
    let app = TestApp::spawn().await;
    let pairs = [("user_id", "123"), ("user_warning_email_hour", "15"), ("pgui", "1"), ("pcsv", "0")];
    let r = post_with_hash(&app, &pairs, "3574cbfc236bf319d40b95b7d17fbb7a71b27a71").await;
    assert_xml(&r, &updated());
    assert_eq!(app.col(123, "warning_email_hour").await, "15");
    assert_eq!(app.col(123, "hide_destination_end").await, "1");
}

#[tokio::test]
async fn h4_mors_actual_hash_without_user_warning_email_hour_and_pgui_is_accepted() {
    let app = TestApp::spawn().await;
    let pairs = [("user_id", "123"), ("user_warning_email_hour", "15"), ("pgui", "1"), ("pcsv", "0")];
    let r = post_with_hash(&app, &pairs, "23a5355933c87c9cd46dc46b23f5f3213532cb15").await;
    assert_xml(&r, &updated());
    assert_eq!(app.col(123, "warning_email_hour").await, "15");
    assert_eq!(app.col(123, "hide_destination_end").await, "1");
}

#[tokio::test]
async fn h3_h4_only_the_documented_variant_covers_user_warning_email_hour() {
    let app = TestApp::spawn().await;
    let before = app.state().await;
    let pairs = [("user_id", "123"), ("user_warning_email_hour", "16"), ("pgui", "1"), ("pcsv", "0")];
    for hash in ["3574cbfc236bf319d40b95b7d17fbb7a71b27a71", "23a5355933c87c9cd46dc46b23f5f3213532cb15"] {
        // H3's hashes signed hour 15; this request says 16. The MOR-actual variant leaves the hour
        // out, so H4's hash still matches: only the documented one must fail.
        let r = post_with_hash(&app, &pairs, hash).await;
        if hash.starts_with("3574") {
            assert_xml(&r, &status_error("Incorrect hash"));
            assert_eq!(app.state().await, before);
        } else {
            assert_xml(&r, &updated());
        }
    }
}

#[tokio::test]
async fn h1_the_seeds_vector() {
    let app = TestApp::spawn().await;
    assert_xml(&post_with_hash(&app, &[("user_id", "123"), ("u15", "1")], H1).await, &updated());
    assert_eq!(app.col(123, "blocked").await, "1");
}

#[tokio::test]
async fn h2_user_id_alone() {
    let app = TestApp::spawn().await;
    let r = post_with_hash(&app, &[("user_id", "123")], "f7c3bc1d808e04732adf679965ccc34ca7ae3441").await;
    assert_xml(&r, &updated());
}

#[tokio::test]
async fn h15_user_id_with_leading_zeros_is_hashed_as_its_integer() {
    let app = TestApp::spawn().await;
    assert_xml(&post_with_hash(&app, &[("user_id", "0123"), ("u15", "1")], H1).await, &updated());
    assert_eq!(app.col(123, "blocked").await, "1");
}

#[tokio::test]
async fn h16_unhashed_parameters_do_not_enter_the_hash() {
    let app = TestApp::spawn().await;
    app.sql(
        "INSERT INTO users (id, username, usertype, owner_id, acc_group_id) VALUES (5, 'acc5', 'accountant', 0, 1);",
    )
    .await;
    app.set_setting(0, "two_fa_enabled", "1").await;
    let pairs =
        [("user_id", "123"), ("u15", "1"), ("u30", "1"), ("u31", "5"), ("time_zone", "UTC"), ("two_fa_enabled", "1")];
    assert_xml(&post_with_hash(&app, &pairs, H1).await, &updated());
    assert_eq!(app.col(123, "hide_non_answered_calls").await, "1");
    assert_eq!(app.col(123, "responsible_accountant_id").await, "5");
    assert_eq!(app.col(123, "time_zone").await, "UTC");
    assert_eq!(app.col(123, "two_fa_enabled").await, "1");
}

#[tokio::test]
async fn h17_several_hashed_parameters_in_mors_order() {
    let app = TestApp::spawn().await;
    let pairs = [
        ("user_id", "123"),
        ("u5", "2"),
        ("u15", "0"),
        ("u25", "1"),
        ("credit", "10.5"),
        ("a8", "john@example.com"),
        ("company_name", "ACME"),
    ];
    assert_xml(&post_with_hash(&app, &pairs, "6dfdac221d1a13091cf6d95128b075bd3daad48d").await, &updated());
    assert_eq!(app.col(123, "tariff_id").await, "2");
    assert_eq!(app.col(123, "credit").await, "10.5");
    assert_eq!(app.col(123, "company_name").await, "ACME");
}

#[tokio::test]
async fn h18_a_listed_name_this_method_ignores_still_enters_the_hash() {
    let app = TestApp::spawn().await;
    let pairs = [("user_id", "123"), ("u15", "1"), ("id", "17")];
    assert_xml(&post_with_hash(&app, &pairs, "e4660e665ea39567abcf8acdcde0032340b1fd7b").await, &updated());
    assert_eq!(app.col(123, "blocked").await, "1");
    // Without id in the hash the same request is refused.
    let r = post_with_hash(&app, &[("user_id", "789"), ("u15", "1"), ("id", "17")], H1).await;
    assert_xml(&r, &status_error("Incorrect hash"));
}

#[tokio::test]
async fn h19_the_wikis_user_id_and_key_example() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "api_secret_key", "asdfghjkl").await;
    // The hash is accepted; user 581 does not exist.
    let r = post_with_hash(&app, &[("user_id", "581")], "b3b8a6f4063a0569212c91098627a9c394283bd6").await;
    assert_xml(&r, &page_error("User was not found", &[]));
}

#[tokio::test]
async fn h20_the_wikis_generic_example_with_names_of_other_methods() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "api_secret_key", "Very Sercet Key").await;
    let pairs = [("user_id", "123"), ("period_start", "1252454580"), ("calltype", "answered")];
    assert_xml(&post_with_hash(&app, &pairs, "b93c35d5c6183288322122561a3da7e09abb63b7").await, &updated());
}

/// The [X8-SEL] fixture of H5–H14: key `secret`; user 2 and reseller 3 and accountant 6 of the
/// admin; user 5 of reseller 3.
async fn selenium_fixture() -> TestApp {
    let app = TestApp::spawn().await;
    app.set_setting(0, "api_secret_key", "secret").await;
    app.sql(
        "INSERT INTO users (id, username, usertype, owner_id, uniquehash) VALUES
           (2, 'user_admin', 'user', 0, 'hash2'), (3, 'reseller3', 'reseller', 0, 'hash3'),
           (5, 'user_reseller', 'user', 3, 'hash5'), (6, 'acc6', 'accountant', 0, 'hash6');",
    )
    .await;
    app
}

#[tokio::test]
async fn h5_to_h14_the_selenium_vectors_are_accepted() {
    let app = selenium_fixture().await;
    let not_found = page_error("User was not found", &[]);
    #[allow(clippy::type_complexity)]
    let vectors: [(&str, &[(&str, &str)], &str, String); 10] = [
        ("H5", &[("user_id", "6"), ("u15", "0"), ("u25", "1")], "51ba7ae4d5742527ba30e8dbe766e1b904611c3b", updated()),
        (
            "H6",
            &[("user_id", "5"), ("u15", "1"), ("u25", "0")],
            "136aa47d908785cb053cabedc90d6993912a57c2",
            not_found.clone(),
        ),
        (
            "H7",
            &[("user_id", "0"), ("u15", "1"), ("u25", "0"), ("u5", "1")],
            "4b63372c04043de439e7badcbb5dca7adfce3c46",
            updated(),
        ),
        ("H8", &[("user_id", "2"), ("u15", "0"), ("u25", "1")], "1fe850b1e66401c7e89f34b801f5c925f0816e31", updated()),
        (
            "H9",
            &[("user_id", "3"), ("own_providers", "1"), ("u15", "0"), ("u25", "1")],
            "a2954da4d6ad8bb8f0f5719d7f153a694a81daa9",
            updated(),
        ),
        (
            "H10",
            &[("user_id", "6"), ("u15", "0"), ("u25", "1"), ("i1", "2"), ("i2", "4"), ("i3", "8"), ("i4", "16")],
            "20ab5a816cf25c00f94bea4cd31d428940065f3e",
            updated(),
        ),
        (
            "H11",
            &[("user_id", "6"), ("i1", "2"), ("i2", "4"), ("i3", "8"), ("i4", "16")],
            "fff425dbdebb6e863567b038851c6a15ef24d70e",
            updated(),
        ),
        (
            "H12",
            &[("user_id", "2"), ("a8", "test_reseller@email.test")],
            "ab22e29a8ed57eae21cea69d354ef2992a135143",
            updated(),
        ),
        ("H13", &[("user_id", "2"), ("u30", "1")], "38282ca5e65e63746498ef5b39a2fe71c6448df4", updated()),
        ("H14", &[("warning_email_active", "1")], "bc2f114099d16656d37e45fd9e8744cb9386d462", not_found.clone()),
    ];
    for (name, pairs, hash, expected) in vectors {
        let r = post_with_hash(&app, pairs, hash).await;
        assert_eq!(r.body, expected, "{name}");
    }
    assert_eq!(app.col(3, "own_providers").await, "1");
    assert_eq!(app.col(6, "send_invoice_types").await, "30");
    assert_eq!(app.col(2, "hide_non_answered_calls").await, "1");
    assert!(app.audit().await.iter().all(|e| e.event == AuditEvent::Change), "no hash was refused");
}

// ---------------------------------------------------------------------------------------------
// Keys and hash checking
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_reseller_is_accepted_with_his_own_key_and_with_the_admin_key() {
    let app = TestApp::spawn().await;
    let q = signed_query("reseller", RESELLER_KEY, &[("user_id", "201"), ("u15", "1")]);
    assert_xml(&app.post(&format!("{UPDATE}?{q}")).await, &updated());
    assert_eq!(app.col(201, "blocked").await, "1");
    let q = signed_query("reseller", ADMIN_KEY, &[("user_id", "202"), ("u15", "1")]);
    assert_xml(&app.post(&format!("{UPDATE}?{q}")).await, &updated());
    assert_eq!(app.col(202, "blocked").await, "1");
}

#[tokio::test]
async fn a_resellers_keys_count_only_while_their_api_switch_is_on() {
    let app = TestApp::spawn().await;
    let before = app.state().await;
    // Global API off: the admin's key no longer signs for the reseller; his own still does.
    app.set_setting(0, "allow_api", "0").await;
    let q = signed_query("reseller", ADMIN_KEY, &[("user_id", "201"), ("u15", "1")]);
    assert_xml(&app.post(&format!("{UPDATE}?{q}")).await, &status_error("Incorrect hash"));
    assert_eq!(app.state().await, before);
    // His own API off, global on: his own key no longer counts; the admin's does.
    app.set_setting(0, "allow_api", "1").await;
    app.set_setting(200, "allow_api", "0").await;
    let q = signed_query("reseller", RESELLER_KEY, &[("user_id", "201"), ("u15", "1")]);
    assert_xml(&app.post(&format!("{UPDATE}?{q}")).await, &status_error("Incorrect hash"));
    assert_eq!(app.state().await, before);
    let q = signed_query("reseller", ADMIN_KEY, &[("user_id", "201"), ("u15", "1")]);
    assert_xml(&app.post(&format!("{UPDATE}?{q}")).await, &updated());
}

#[tokio::test]
async fn the_admin_and_accountants_are_not_accepted_with_a_resellers_key() {
    let app = TestApp::spawn().await;
    app.sql("INSERT INTO users (id, username, usertype, owner_id) VALUES (210, 'other', 'reseller', 0);").await;
    app.set_setting(210, "allow_api", "1").await;
    app.set_setting(210, "api_secret_key", "other-secret").await;
    let before = app.state().await;
    for u in ["admin", "accountant"] {
        let q = signed_query(u, RESELLER_KEY, &[("user_id", "123"), ("u15", "1")]);
        assert_xml(&app.post(&format!("{UPDATE}?{q}")).await, &status_error("Incorrect hash"));
    }
    // Nor is a reseller accepted with another reseller's key.
    let q = signed_query("reseller", "other-secret", &[("user_id", "201"), ("u15", "1")]);
    assert_xml(&app.post(&format!("{UPDATE}?{q}")).await, &status_error("Incorrect hash"));
    assert_eq!(app.state().await, before);
}

#[tokio::test]
async fn disabling_hash_checking_for_the_admin_scope_covers_admin_accountants_and_resellers() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "api_disable_hash_checking", "1").await;
    let r = app.post_form(UPDATE, &[("u", "admin"), ("user_id", "123"), ("u15", "1")]).await;
    assert_xml(&r, &updated());
    let r = app.post_form(UPDATE, &[("u", "admin"), ("user_id", "123"), ("u23", "Jon"), ("hash", "nonsense")]).await;
    assert_xml(&r, &updated());
    let r = app.post_form(UPDATE, &[("u", "accountant"), ("user_id", "789"), ("u15", "1")]).await;
    assert_xml(&r, &updated());
    let r = app.post_form(UPDATE, &[("u", "reseller"), ("user_id", "201"), ("u15", "1")]).await;
    assert_xml(&r, &updated());
    assert_eq!(app.col(123, "blocked").await, "1");
    assert_eq!(app.col(123, "first_name").await, "Jon");
    assert_eq!(app.col(789, "blocked").await, "1");
    assert_eq!(app.col(201, "blocked").await, "1");
    // Simple users are still refused.
    let r = app.post_form(UPDATE, &[("u", "john"), ("user_id", "123"), ("u15", "0")]).await;
    assert_xml(&r, &page_error("Access Denied", &[]));
}

#[tokio::test]
async fn a_reseller_disabling_hash_checking_covers_only_himself() {
    let app = TestApp::spawn().await;
    app.set_setting(200, "api_disable_hash_checking", "1").await;
    let r = app.post_form(UPDATE, &[("u", "reseller"), ("user_id", "201"), ("u15", "1")]).await;
    assert_xml(&r, &updated());
    assert_eq!(app.col(201, "blocked").await, "1");
    let before = app.state().await;
    let r = app.post_form(UPDATE, &[("u", "admin"), ("user_id", "123"), ("u15", "1")]).await;
    assert_xml(&r, &status_error("Incorrect hash"));
    assert_eq!(app.state().await, before);
}

#[tokio::test]
async fn an_empty_key_answers_api_must_have_secret_key_and_is_not_counted() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "api_secret_key", "").await;
    let before = app.state().await;
    let r = app.post(&format!("{UPDATE}?u=admin&user_id=123&u15=1&hash={H1}")).await;
    assert_xml(&r, &status_error("API must have Secret Key"));
    // Unknown usernames get the same answer.
    let r = app.post(&format!("{UPDATE}?u=nosuchuser&user_id=123&u15=1&hash={H1}")).await;
    assert_xml(&r, &status_error("API must have Secret Key"));
    assert_eq!(app.state().await, before);
    // A configuration problem, not a refused credential (docs/contract.md §4).
    assert!(app.audit().await.is_empty());
    assert!(app.refusals().await.is_empty());
}

#[tokio::test]
async fn a_refused_hash_is_recorded_without_parameter_values() {
    let app = TestApp::spawn().await;
    let before = app.state().await;
    let hash = "9".repeat(40);
    let resp = send(
        &app,
        Method::POST,
        &format!("{UPDATE}?u=admin&user_id=123&u0=TOPSECRETVAT&pswd=Password123&a8=leak%40example.com&hash={hash}"),
    )
    .await;
    assert_eq!(resp.text().await.expect("body"), status_error("Incorrect hash"));
    assert_eq!(app.state().await, before);
    assert!(app.audit().await.is_empty(), "counted, not written one audit row each");
    let rows = app.refusals().await;
    assert_eq!(rows.len(), 2, "the pair and the address: {rows:?}");
    let e = &app.refusals_of("admin").await[0];
    assert_eq!((e.client_addr.as_str(), e.endpoint.as_str()), ("127.0.0.1", "user_details_update"));
    assert_eq!((e.count, e.last_error.as_str(), e.locked_until), (1, "Incorrect hash", 0));
    assert_eq!(e.first_at, e.last_at);
    let all = format!("{rows:?}");
    for secret in ["TOPSECRETVAT", "Password123", "leak@example.com", &hash] {
        assert!(!all.contains(secret), "{secret} leaked into {all}");
    }
}

#[tokio::test]
async fn a_refused_hash_by_an_unknown_username_is_recorded_with_the_attempted_name() {
    let app = TestApp::spawn().await;
    let r = app.post(&format!("{UPDATE}?u=mallory&user_id=123&u15=1&hash={H1}")).await;
    assert_xml(&r, &status_error("Incorrect hash"));
    let rows = app.refusals_of("mallory").await;
    assert_eq!(rows.iter().map(|r| r.count).collect::<Vec<_>>(), [1]);
}

#[tokio::test]
async fn successful_and_page_error_requests_write_no_hash_refused_rows() {
    let app = TestApp::spawn().await;
    assert_xml(&app.post(&format!("{UPDATE}?u=admin&user_id=123&u15=1&hash={H1}")).await, &updated());
    let q = signed_query("admin", ADMIN_KEY, &[("user_id", "499")]);
    assert_xml(&app.post(&format!("{UPDATE}?{q}")).await, &page_error("User was not found", &[]));
    let audit = app.audit().await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].event, AuditEvent::Change);
}

#[tokio::test]
async fn an_empty_user_id_is_left_out_of_the_hash_and_finds_nobody() {
    let app = TestApp::spawn().await;
    let before = app.state().await;
    // Signed as if user_id were absent: the hash is right, the target is not found.
    let hash = sign_pairs(&[("u15", "1")], ADMIN_KEY);
    let r = app.post(&format!("{UPDATE}?u=admin&user_id=&u15=1&hash={hash}")).await;
    assert_xml(&r, &page_error("User was not found", &[]));
    assert_eq!(app.state().await, before);
}

// Input no engine can store (docs/decisions.md, "Wire"): a clear refusal, never `Internal error`.

/// A `u` holding a NUL byte (PostgreSQL cannot store one) or longer than a text column (MariaDB)
/// names nobody: it is refused as an unknown user, and the refusal is counted under what was sent,
/// in a form every engine stores.
#[tokio::test]
async fn a_username_no_engine_can_store_is_an_unknown_user() {
    let app = TestApp::spawn().await;
    let long = "x".repeat(300);
    for u in ["ad\0min", long.as_str()] {
        let before = app.state().await;
        let r = app.post_form(UPDATE, &[("user_id", "123"), ("u15", "1"), ("u", u), ("hash", H1)]).await;
        assert_xml(&r, &status_error("Incorrect hash"));
        assert_eq!(app.state().await, before, "nothing but the refusal's count is written");
        let expected: String = u.chars().take(255).map(|c| if c == '\0' { '\u{FFFD}' } else { c }).collect();
        assert_eq!(app.refusals_of(&expected).await.len(), 1, "counted under what was sent, storable");
    }
    // The read methods too, and a `username` to read that no engine could store names nobody.
    let r = app.post_form("/billing/api/user_details_get", &[("user_id", "123"), ("u", "ad\0min")]).await;
    assert_xml(&r, &status_error("Incorrect hash"));
    let hash = sign_pairs(&[("username", "jo\0hn")], ADMIN_KEY);
    let r = app
        .post_form("/billing/api/user_details_get", &[("username", "jo\0hn"), ("u", "admin"), ("hash", &hash)])
        .await;
    assert_xml(&r, &page_error("User was not found", &[]));
}

/// E-mail lists longer than a text column are refused with the limit, on every engine alike.
#[tokio::test]
async fn email_lists_longer_than_a_text_column_are_refused() {
    let app = TestApp::spawn().await;
    // 36 addresses of 7 characters with their `;`: 287 characters, each address valid.
    let list: Vec<String> = (0..36).map(|i| format!("a{i:02}@b.lt")).collect();
    let list = list.join(";");
    assert!(list.chars().count() > 255);
    let before = app.state().await;
    for (name, label) in [("a8", "e-mail"), ("u22", "recordings e-mail")] {
        let r = app.update(&[("user_id", "123"), (name, &list)]).await;
        let message = format!("{name} ({label}) is too long (maximum 255 characters)");
        assert_eq!(r, page_error("User was not updated", &[&message]), "{name}");
    }
    assert_eq!(app.state().await, before);
    // 255 characters are accepted.
    let fits: String =
        list.chars().take(250).collect::<String>().rsplit_once(';').map(|(a, _)| a.to_string()).unwrap_or_default();
    assert_eq!(app.update(&[("user_id", "123"), ("u22", &fits)]).await, updated());
}
