//! The audit rows of creating, deleting and changing records and settings, built in one place for
//! every writer: the administration CLI today, the API's `user_register` and `user_delete` next.
//!
//! An [`Actor`] is everything a row says about who acted, from where and through what (one
//! request id for every row of one request or command); its methods make the rows:
//!
//! | event | `field` | `old_value` | `new_value` |
//! |---|---|---|---|
//! | `create` | the table (`users`, `tariffs`, …) | NULL | the row as JSON ([`row_json`]) |
//! | `delete` | the table | the row as JSON | NULL |
//! | `change` | a `users` column (`blocked`), `TABLE.COLUMN` of a user's address or tax row, or `TABLE:ID.COLUMN` of another record ([`record`]) | old | new |
//! | `setting` | the setting's name | old (NULL: never set) | new |
//!
//! Secrets never enter a row: a secret column or setting is `""` → [`CHANGED`] (or [`CLEARED`]
//! when a setting is emptied), and in a row's JSON a secret value that is not empty is
//! [`CHANGED`]. What is a secret is [`crate::catalogue::is_secret`]'s to say.

use crate::catalogue::is_secret;
use crate::storage::{AuditEntry, AuditEvent, Row, Value, schema};
use crate::values::{AuditTime, new_request_id};

/// What a secret's new value shows as.
pub const CHANGED: &str = "changed";
/// What a secret setting emptied (a key removed, a rotation finished) shows as.
pub const CLEARED: &str = "cleared";
/// The `client_addr` of the administration CLI.
pub const LOCAL: &str = "local";
/// What `actor_username` of the administration CLI starts with: `cli:alice`.
pub const CLI_PREFIX: &str = "cli:";

/// One audited change of a field: the field, its old and its new value (`None`: SQL NULL).
pub type Change = (String, Option<String>, Option<String>);

/// Who acted, from where, through what, when, and under which request id: what every audit row of
/// one request or command shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub created_at: String,
    pub request_id: String,
    /// The acting user's id; `None` for the CLI (an operator, not a user).
    pub actor_id: Option<i64>,
    pub username: String,
    pub client_addr: String,
    /// The API method, or the CLI command (`user add`, `settings set`, `tariff delete`).
    pub endpoint: String,
    /// Which key signed the request (`KeySlot::stored`); empty for the CLI.
    pub signed_with: String,
}

impl Actor {
    /// An operator at the command line: `actor_username` `cli:NAME`, no actor id, client
    /// `local`, endpoint the command, a new request id, now.
    pub fn command_line(name: &str, endpoint: &str) -> Actor {
        Actor {
            created_at: AuditTime::now().stored(),
            request_id: new_request_id(),
            actor_id: None,
            username: format!("{CLI_PREFIX}{name}"),
            client_addr: LOCAL.into(),
            endpoint: endpoint.into(),
            signed_with: String::new(),
        }
    }

    /// A row of this actor.
    pub fn entry(
        &self,
        event: AuditEvent,
        target: Option<i64>,
        field: String,
        old_value: Option<String>,
        new_value: Option<String>,
    ) -> AuditEntry {
        AuditEntry {
            created_at: self.created_at.clone(),
            request_id: self.request_id.clone(),
            event,
            actor_id: self.actor_id,
            actor_username: self.username.clone(),
            client_addr: self.client_addr.clone(),
            endpoint: self.endpoint.clone(),
            target_id: target,
            field,
            old_value,
            new_value,
            signed_with: self.signed_with.clone(),
        }
    }

    /// A record created: `field` the table, `new_value` the row as JSON.
    pub fn created(&self, table: &str, target: Option<i64>, row: &Row) -> AuditEntry {
        self.entry(AuditEvent::Create, target, table.into(), None, Some(row_json(table, row)))
    }

    /// A record removed: `field` the table, `old_value` the whole row as JSON, so nothing is lost.
    pub fn deleted(&self, table: &str, target: Option<i64>, row: &Row) -> AuditEntry {
        self.entry(AuditEvent::Delete, target, table.into(), Some(row_json(table, row)), None)
    }

    /// Changed fields (`update::record_changes` decides which), one row each. A secret field is
    /// `""` → `changed` whatever was passed.
    pub fn changed(&self, target: Option<i64>, changes: Vec<Change>) -> Vec<AuditEntry> {
        changes
            .into_iter()
            .map(|(field, old, new)| {
                let (old, new) =
                    if is_secret(&field) { (Some(String::new()), Some(CHANGED.into())) } else { (old, new) };
                self.entry(AuditEvent::Change, target, field, old, new)
            })
            .collect()
    }

    /// A setting of `owner` written: `target_id` the owner, NULL for 0 (the admin's settings are
    /// the global ones); `old` is the stored value, `None` when it was never set. A secret
    /// setting shows `""` → `changed`, or `cleared` when emptied.
    pub fn setting(&self, owner: i64, name: &str, old: Option<&str>, new: &str) -> AuditEntry {
        let (old, new) = if is_secret(name) {
            (Some(String::new()), Some(if new.is_empty() { CLEARED } else { CHANGED }.to_string()))
        } else {
            (old.map(str::to_string), Some(new.to_string()))
        };
        self.entry(AuditEvent::Setting, (owner != 0).then_some(owner), name.into(), old, new)
    }
}

/// The `field` prefix of a record's changes, `TABLE:ID` (`tariffs:12`), for
/// `update::record_changes`, which adds `.COLUMN`.
pub fn record(table: &str, id: i64) -> String {
    format!("{table}:{id}")
}

/// A row as the audit trail keeps it: a JSON object of every column in the schema's order
/// (columns the schema does not know follow, by name), each value as stored text, NULL as
/// `null`. A secret value that is not empty is `changed`: a secret column (`users.password`), and
/// the value of a secret setting's `conflines` row.
pub fn row_json(table: &str, row: &Row) -> String {
    let known = schema::TABLES.iter().find(|t| t.name == table).map_or(&[][..], |t| t.columns);
    let ordered = known.iter().map(|c| c.name).filter(|c| row.contains_key(*c));
    let others = row.keys().map(String::as_str).filter(|k| !known.iter().any(|c| c.name == *k));
    let secret_setting = table == "conflines" && row.get("name").is_some_and(|n| is_secret(&n.render()));
    let mut out = String::from("{");
    for (i, column) in ordered.chain(others).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::Value::from(column).to_string());
        out.push(':');
        let value = row.get(column).unwrap_or(&Value::Null);
        let secret = is_secret(&format!("{table}.{column}")) || (secret_setting && column == "value");
        let shown = match value {
            Value::Null => serde_json::Value::Null,
            v if secret && !v.render().is_empty() => CHANGED.into(),
            v => v.render().into(),
        };
        out.push_str(&shown.to_string());
    }
    out.push('}');
    out
}

// --- users_get, user_login ---

/// Why a credential check (`users_get`, `user_login`) failed: the `new_value` of its
/// `login_failed` row. The password tried is never written anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    /// `u` names nobody (or an e-mail that names nobody in particular).
    Unknown,
    /// Wrong or missing password, or the user has none.
    Password,
    /// `users_get`'s `uniquehash` is not the user's.
    Uniquehash,
    /// The password is right, but the user is blocked (`user_login`).
    Blocked,
}

impl LoginFailure {
    pub fn reason(self) -> &'static str {
        match self {
            LoginFailure::Unknown => "unknown",
            LoginFailure::Password => "password",
            LoginFailure::Uniquehash => "uniquehash",
            LoginFailure::Blocked => "blocked",
        }
    }
}

// --- user_delete, user_register ---

impl Actor {
    /// The caller of an API request: his id and username, the key that signed it, and the
    /// request's id, client address and endpoint (the gate's `RequestInfo`, which lives above
    /// this layer); now.
    pub fn api(caller: &super::Caller, request_id: &str, client_addr: &str, endpoint: &str) -> Actor {
        Actor {
            created_at: AuditTime::now().stored(),
            request_id: request_id.into(),
            actor_id: Some(caller.id),
            username: caller.username.clone(),
            client_addr: client_addr.into(),
            endpoint: endpoint.into(),
            signed_with: caller.signed_with.map(|s| s.stored()).unwrap_or_default(),
        }
    }
}

impl Actor {
    /// A successful `user_login`: the actor is the user, and so is the target.
    pub fn logged_in(&self) -> AuditEntry {
        self.entry(AuditEvent::Login, self.actor_id, String::new(), None, None)
    }

    /// A failed credential check. The actor is the name as sent (`actor_id` the user it names,
    /// if any, who is also the target); `new_value` the reason.
    pub fn login_failed(&self, failure: LoginFailure) -> AuditEntry {
        self.entry(AuditEvent::LoginFailed, self.actor_id, String::new(), None, Some(failure.reason().into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, Value)]) -> Row {
        pairs.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect()
    }

    #[test]
    fn rows_are_json_in_schema_order_as_text_with_null_and_secrets_hidden() {
        let user = row(&[
            ("username", "ann".into()),
            ("id", Value::Int(7)),
            ("password", "$argon2id$v=19$secret".into()),
            ("comment", Value::Null),
            ("usertype", "user".into()),
        ]);
        assert_eq!(
            row_json("users", &user),
            r#"{"id":"7","username":"ann","password":"changed","usertype":"user","comment":null}"#
        );
        let no_password = row(&[("id", Value::Int(8)), ("password", "".into())]);
        assert_eq!(row_json("users", &no_password), r#"{"id":"8","password":""}"#);
        // Columns the schema does not know are kept, after the known ones.
        let extra =
            row(&[("zeta", "z".into()), ("name", "T \"1\"".into()), ("id", Value::Int(1)), ("alpha", Value::Null)]);
        assert_eq!(row_json("tariffs", &extra), r#"{"id":"1","name":"T \"1\"","alpha":null,"zeta":"z"}"#);
        let parsed: serde_json::Value = serde_json::from_str(&row_json("users", &user)).expect("valid JSON");
        assert_eq!(parsed["comment"], serde_json::Value::Null);
    }

    #[test]
    fn a_secret_settings_value_is_hidden_in_its_row() {
        let key = row(&[("id", Value::Int(3)), ("name", "api_secret_key".into()), ("value", "k".into())]);
        assert!(!row_json("conflines", &key).contains("\"k\""));
        assert!(row_json("conflines", &key).contains(r#""value":"changed""#));
        let next = row(&[("name", "api_secret_key_next".into()), ("value", "k2".into())]);
        assert!(!row_json("conflines", &next).contains("k2"));
        let plain = row(&[("name", "allow_api".into()), ("value", "1".into())]);
        assert!(row_json("conflines", &plain).contains(r#""value":"1""#));
    }

    #[test]
    fn entries_carry_the_actor_and_hide_secrets() {
        let a = Actor::command_line("alice", "settings set");
        assert_eq!((a.username.as_str(), a.client_addr.as_str(), a.actor_id), ("cli:alice", "local", None));
        let e = a.setting(0, "allow_api", None, "1");
        assert_eq!((e.event, e.target_id, e.field.as_str()), (AuditEvent::Setting, None, "allow_api"));
        assert_eq!((e.old_value.as_deref(), e.new_value.as_deref()), (None, Some("1")));
        assert_eq!(a.setting(5, "allow_api", Some("0"), "1").target_id, Some(5));
        let key = a.setting(5, "api_secret_key", Some("old-key"), "new-key");
        assert_eq!((key.old_value.as_deref(), key.new_value.as_deref()), (Some(""), Some(CHANGED)));
        let cleared = a.setting(5, "api_secret_key_next", Some("old-key"), "");
        assert_eq!(cleared.new_value.as_deref(), Some(CLEARED));
        let changes = a.changed(Some(9), vec![("password".into(), Some("x".into()), Some("y".into()))]);
        assert_eq!((changes[0].old_value.as_deref(), changes[0].new_value.as_deref()), (Some(""), Some(CHANGED)));
        let created = a.created("lcrs", None, &row(&[("id", Value::Int(2)), ("name", "L".into())]));
        assert_eq!((created.field.as_str(), created.old_value.as_deref()), ("lcrs", None));
        assert_eq!(created.new_value.as_deref(), Some(r#"{"id":"2","name":"L"}"#));
        let deleted = a.deleted("lcrs", Some(4), &row(&[("id", Value::Int(2))]));
        assert_eq!(
            (deleted.event, deleted.target_id, deleted.new_value.as_deref()),
            (AuditEvent::Delete, Some(4), None)
        );
        assert!(
            [&e, &created, &deleted].iter().all(|x| x.request_id == a.request_id && x.endpoint == "settings set"),
            "one request id per command"
        );
        assert_eq!(record("tariffs", 12), "tariffs:12");
    }
}
