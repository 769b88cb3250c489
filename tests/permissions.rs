//! The permission matrix of `user_details_update` over HTTP: every actor type × every relation
//! between actor and target × every parameter of the catalogue.
//!
//! The expected outcome of each cell comes from docs/contract.md §5 (steps 4–7) and the "Permissions"
//! section of docs/decisions.md, restated below as small tables ([`rules`]). The tables are written
//! independently of `morapi::auth::permissions` and of the catalogue's `access` column: this file
//! is the independent check of both. Only the catalogue's list of names, labels and value kinds is
//! used (to iterate every parameter, to build a valid value and to spell the refusal message).
//!
//! Every refused request must leave the database exactly as it was; every allowed request must
//! answer `User was updated`, after which the database is put back (so the next cell starts from
//! the same state).

mod common;

use common::*;
use morapi::catalogue::params::{Kind, PARAMS, Param, RefKind};
use morapi::storage::Tx;
use morapi::storage::{Row, Table};

/// Independent restatement of docs/decisions.md "Permissions (step 7)".
mod rules {
    /// Reseller on himself: contact and notification fields only (and the inert GUI leftovers).
    pub const RESELLER_SELF: &[&str] = &[
        "u0",
        "u2",
        "u4",
        "u6",
        "u7",
        "u14",
        "u17",
        "u19",
        "u20",
        "u22",
        "u23",
        "a0",
        "a1",
        "a2",
        "a3",
        "a4",
        "a5",
        "a6",
        "a7",
        "a8",
        "a9",
        "company_name",
        "pswd",
        "user_warning_email_hour",
        "warning_email_active",
        "u30",
        "time_zone",
        "two_fa_enabled",
        "accountant_type_invalid",
        "email_warning_sent_test",
    ];
    /// Reseller on his users: never.
    pub const RESELLER_NEVER: &[&str] = &[
        "u28",
        "u31",
        "own_providers",
        "max_devices",
        "accountant_type",
        "ignore_global_monitorings",
        "enable_static_source_list",
        "static_source_list_id",
        "enable_static_list",
        "static_list_id",
    ];
    /// Reseller on his users: only as Reseller PRO.
    pub const RESELLER_PRO_ONLY: &[&str] = &["u1"];
    /// Reseller on his users: only when not PRO.
    pub const RESELLER_NOT_PRO: &[&str] = &["u3", "pgui", "pcsv", "ppdf", "u21", "cyberplat_active"];
    /// Reseller on his users: only with the `pbx_functions` right.
    pub const RESELLER_PBX: &[&str] = &["u29"];
    /// Accountant: fields gated by a group right with value 2.
    pub const ACCOUNTANT_RIGHTS: &[(&str, &str)] = &[
        ("pswd", "user_create_opt_1"),
        ("u13", "user_create_opt_2"),
        ("u1", "user_create_opt_3"),
        ("u5", "user_create_opt_4"),
        ("u25", "user_create_opt_6"),
        ("u28", "user_create_opt_6"),
        ("u18", "user_create_opt_7"),
    ];
    /// Accountant: never.
    pub const ACCOUNTANT_NEVER: &[&str] = &["u29", "u30"];

    /// Every name of the tables above (to check they name catalogued parameters).
    pub fn all_names() -> Vec<&'static str> {
        let mut v: Vec<&str> = Vec::new();
        for list in [RESELLER_SELF, RESELLER_NEVER, RESELLER_PRO_ONLY, RESELLER_NOT_PRO, RESELLER_PBX, ACCOUNTANT_NEVER]
        {
            v.extend_from_slice(list);
        }
        v.extend(ACCOUNTANT_RIGHTS.iter().map(|(n, _)| *n));
        v
    }
}

/// The kinds of caller the matrix covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actor {
    Admin,
    /// The demo reseller (id 200), made PRO and/or stripped of `pbx_functions` as asked; signs with
    /// his own key or the admin's.
    Reseller {
        pro: bool,
        pbx: bool,
        admin_key: bool,
    },
    /// An accountant (`user_manage` = 2) whose group grants these `user_create_opt_*` rights with 2.
    Accountant {
        id: i64,
        rights: &'static [&'static str],
    },
    /// An accountant who may not edit users (`user_manage` 1, or 2 in a view-only group).
    AccountantNoWrite {
        id: i64,
    },
    /// Simple user `john` (123), owner 0: signs with the admin's key.
    SimpleUser,
}

const ALL_RIGHTS: &[&str] = &[
    "user_create_opt_1",
    "user_create_opt_2",
    "user_create_opt_3",
    "user_create_opt_4",
    "user_create_opt_5",
    "user_create_opt_6",
    "user_create_opt_7",
];

impl Actor {
    fn id(self) -> i64 {
        match self {
            Actor::Admin => 0,
            Actor::Reseller { .. } => 200,
            Actor::Accountant { id, .. } | Actor::AccountantNoWrite { id } => id,
            Actor::SimpleUser => 123,
        }
    }

    fn username(self) -> &'static str {
        match self.id() {
            0 => "admin",
            200 => "reseller",
            300 => "accountant",
            301 => "viewer",
            310 => "limited",
            320 => "viewonly",
            330 => "partial",
            123 => "john",
            other => panic!("no username for {other}"),
        }
    }

    fn key(self) -> &'static str {
        match self {
            Actor::Reseller { admin_key: false, .. } => RESELLER_KEY,
            _ => ADMIN_KEY,
        }
    }

    fn is_reseller(self) -> bool {
        matches!(self, Actor::Reseller { .. })
    }
}

/// The demo users the matrix targets, with what the rules need to know about them.
#[derive(Debug, Clone, Copy)]
struct Target {
    id: i64,
    owner: i64,
    usertype: &'static str,
    has_email: bool,
}

const ADMIN: Target = Target { id: 0, owner: 0, usertype: "admin", has_email: false };
const JOHN: Target = Target { id: 123, owner: 0, usertype: "user", has_email: true };
const JANE: Target = Target { id: 789, owner: 0, usertype: "user", has_email: true };
const RESELLER: Target = Target { id: 200, owner: 0, usertype: "reseller", has_email: true };
const ALICE: Target = Target { id: 201, owner: 200, usertype: "user", has_email: true };
const CAROL: Target = Target { id: 211, owner: 210, usertype: "user", has_email: false };
const ACCOUNTANT: Target = Target { id: 300, owner: 0, usertype: "accountant", has_email: false };

/// How the target relates to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    /// One of the caller's own users (owner-0 users for admin and accountants).
    Own,
    /// A user of another owner.
    Foreign,
    /// The caller's own account.
    SelfEdit,
    /// `user_id=0` (the admin).
    Zero,
    /// No `user_id` at all.
    Missing,
}

/// One row of the matrix: a relation and the concrete target it names (None: no user_id).
#[derive(Debug, Clone, Copy)]
struct Case {
    relation: Relation,
    target: Option<Target>,
}

fn case(relation: Relation, target: Target) -> Case {
    Case { relation, target: Some(target) }
}

fn cases(actor: Actor) -> Vec<Case> {
    use Relation::*;
    match actor {
        Actor::Admin => vec![case(Own, JOHN), case(Own, RESELLER), case(Foreign, ALICE), case(SelfEdit, ADMIN)],
        Actor::Reseller { .. } => {
            vec![case(Own, ALICE), case(Foreign, JOHN), case(Foreign, CAROL), case(SelfEdit, RESELLER)]
        }
        Actor::Accountant { id, .. } | Actor::AccountantNoWrite { id } => vec![
            case(Own, JOHN),
            case(Own, RESELLER),
            case(Foreign, ALICE),
            Case { relation: SelfEdit, target: Some(Target { id, ..ACCOUNTANT }) },
            case(Zero, ADMIN),
            Case { relation: Missing, target: None },
        ],
        Actor::SimpleUser => {
            vec![case(SelfEdit, JOHN), case(Own, JANE), case(Foreign, ALICE), Case { relation: Missing, target: None }]
        }
    }
}

/// What the server must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Updated,
    /// Step 4.
    AccessDenied,
    /// Step 5.
    NotFound,
    /// Step 6.
    NoEditing,
    /// Step 7: these parameters (in catalogue order) may not be changed.
    Refused(Vec<&'static str>),
    /// Allowed, but the parameter does not apply to this target (step 9).
    NotApplicable(String),
}

impl Expect {
    fn document(&self) -> String {
        match self {
            Expect::Updated => updated(),
            Expect::AccessDenied => page_error("Access Denied", &[]),
            Expect::NotFound => page_error("User was not found", &[]),
            Expect::NoEditing => page_error("You have no editing permission", &[]),
            Expect::Refused(names) => {
                let messages: Vec<String> = names.iter().map(|n| refused_message(n)).collect();
                let refs: Vec<&str> = messages.iter().map(String::as_str).collect();
                page_error("Access Denied", &refs)
            }
            Expect::NotApplicable(m) => page_error("User was not updated", &[m]),
        }
    }

    fn changes_something(&self) -> bool {
        *self == Expect::Updated
    }
}

fn param(name: &str) -> &'static Param {
    PARAMS.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("{name} is not catalogued"))
}

fn refused_message(name: &str) -> String {
    format!("You may not change {name} ({})", param(name).label)
}

/// Step 7 for one parameter and value, from the tables in [`rules`].
fn may_set(actor: Actor, relation: Relation, target: Target, name: &str, value: &str) -> bool {
    match actor {
        Actor::Admin => true,
        Actor::SimpleUser | Actor::AccountantNoWrite { .. } => false,
        Actor::Accountant { rights, .. } => {
            if rules::ACCOUNTANT_NEVER.contains(&name) {
                return false;
            }
            if let Some((_, right)) = rules::ACCOUNTANT_RIGHTS.iter().find(|(n, _)| *n == name)
                && !rights.contains(right)
            {
                return false;
            }
            if name == "u13" && value.trim() == "admin" {
                return false;
            }
            if name == "pswd" && target.usertype == "admin" {
                return false;
            }
            true
        }
        Actor::Reseller { pro, pbx, .. } => {
            if relation == Relation::SelfEdit {
                return rules::RESELLER_SELF.contains(&name);
            }
            if rules::RESELLER_NEVER.contains(&name) {
                return false;
            }
            if rules::RESELLER_PRO_ONLY.contains(&name) {
                return pro;
            }
            if rules::RESELLER_NOT_PRO.contains(&name) {
                return !pro;
            }
            if rules::RESELLER_PBX.contains(&name) {
                return pbx;
            }
            if name == "u13" {
                return value.trim() == "user";
            }
            true
        }
    }
}

/// The expected answer for `sent` (catalogue parameters only, besides `user_id`).
fn expect(actor: Actor, case: Case, sent: &[(String, String)]) -> Expect {
    // Step 4.
    match actor {
        Actor::SimpleUser => return Expect::AccessDenied,
        Actor::Accountant { id, .. } | Actor::AccountantNoWrite { id } => match case.target {
            None => return Expect::AccessDenied,
            Some(t) if t.id == 0 || t.id == id => return Expect::AccessDenied,
            Some(_) => {}
        },
        _ => {}
    }
    // Step 5.
    let Some(target) = case.target else { return Expect::NotFound };
    let visible = match actor {
        Actor::Admin | Actor::Accountant { .. } | Actor::AccountantNoWrite { .. } => target.owner == 0,
        Actor::Reseller { .. } => target.owner == 200 || target.id == 200,
        Actor::SimpleUser => false,
    };
    if !visible {
        return Expect::NotFound;
    }
    // Step 6.
    if matches!(actor, Actor::AccountantNoWrite { .. }) {
        return Expect::NoEditing;
    }
    // Step 7, in catalogue order.
    let refused: Vec<&'static str> = PARAMS
        .iter()
        .filter_map(|p| sent.iter().rfind(|(n, _)| n == p.name).map(|(_, v)| (p.name, v)))
        .filter(|(n, v)| !may_set(actor, case.relation, target, n, v))
        .map(|(n, _)| n)
        .collect();
    if !refused.is_empty() {
        return Expect::Refused(refused);
    }
    // Parameters that apply only to some user types (decisions.md "Values").
    for (name, _) in sent {
        let message = match name.as_str() {
            "own_providers" if target.usertype != "reseller" => {
                "own_providers (Reseller PRO) applies only to resellers"
            }
            "max_devices" if target.usertype != "reseller" => "max_devices (maximum devices) applies only to resellers",
            "accountant_type" if !matches!(target.usertype, "reseller" | "accountant") => {
                "accountant_type (accountant group) applies only to accountants and resellers"
            }
            _ => continue,
        };
        return Expect::NotApplicable(message.to_string());
    }
    Expect::Updated
}

/// A value of `p` that passes steps 8 and 9 for this caller and target.
fn valid_value(p: &Param, actor: Actor, target: Target) -> String {
    let reseller = actor.is_reseller();
    let pick = |for_reseller: &str, otherwise: &str| if reseller { for_reseller } else { otherwise }.to_string();
    if p.name == "two_fa_enabled" {
        return if target.has_email { "1" } else { "0" }.into();
    }
    match p.kind {
        Kind::Text { max } => "Tst".chars().take(max).collect(),
        Kind::Int { min, max } => 5.clamp(min, max).to_string(),
        Kind::IntClampZero => "3".into(),
        Kind::Flag => "1".into(),
        Kind::Decimal => "12,5".into(),
        Kind::DecimalClampZero => "3.5".into(),
        Kind::DecimalNonNegative => "7".into(),
        Kind::Ref(kind) => match kind {
            RefKind::Tariff => pick("4", "2"),
            // The LCRs of the target's owner: the admin's, or the reseller's own (his assigned one).
            RefKind::Lcr => if target.owner == 0 { "2" } else { "3" }.into(),
            RefKind::PbxPool => pick("2", "1"),
            RefKind::QuickforwardRule => pick("4", "3"),
            RefKind::Currency => "2".into(),
            RefKind::Direction => "3".into(),
            RefKind::SoundFile => pick("2", "1"),
            // Device 3 belongs to alice, one of the reseller's users.
            RefKind::Device => pick("3", "1"),
            RefKind::NumberPool => "2".into(),
            RefKind::AccGroup => "3".into(),
        },
        Kind::Enum(words) => words.last().expect("an enumeration has words").to_string(),
        Kind::TimeZone => "Vilnius".into(),
        Kind::Email { .. } => format!("fresh{}@example.org", target.id),
        Kind::RecordingsEmail { .. } => "rec@example.com".into(),
        Kind::Username { .. } => format!("renamed{}", target.id),
        Kind::Password => "Secret123".into(),
        Kind::DatePart => match &p.name[1..] {
            "y" => "2030".into(),
            "m" => "2".into(),
            _ => "28".into(),
        },
        Kind::PrivacyBit { .. } => "1".into(),
        Kind::InvoiceBit { bit } => bit.to_string(),
        Kind::UserType => target.usertype.to_string(),
        Kind::ResponsibleAccountant => {
            if matches!(target.usertype, "user" | "reseller") && !reseller {
                "300".into()
            } else {
                "-1".into()
            }
        }
        Kind::Inert => "x".into(),
    }
}

/// The parameters sent to test `p`: `p` itself, plus the other parts of a three-part date.
fn params_for(p: &Param, actor: Actor, target: Target) -> Vec<(String, String)> {
    let names: Vec<&str> = match p.kind {
        Kind::DatePart => {
            let prefix = &p.name[..1];
            vec![
                PARAMS.iter().find(|q| q.name == format!("{prefix}y")).expect("year").name,
                PARAMS.iter().find(|q| q.name == format!("{prefix}m")).expect("month").name,
                PARAMS.iter().find(|q| q.name == format!("{prefix}d")).expect("day").name,
            ]
        }
        _ => vec![p.name],
    };
    names.into_iter().map(|n| (n.to_string(), valid_value(param(n), actor, target))).collect()
}

/// Users that exist besides the demo's (covered by `app.state()`).
const EXTRA_USERS: &[i64] = &[210, 211, 310, 320, 330, 900];
const DEMO_USERS: &[i64] = &[0, 123, 789, 200, 201, 202, 300, 301];

/// Fixtures shared by every app: a second reseller with a user, accountants with other rights,
/// and the system 2FA switch on (so `two_fa_enabled=1` is a valid value).
const FIXTURES: &str = "
INSERT INTO users (id, username, usertype, owner_id, uniquehash) VALUES (210, 'reseller2', 'reseller', 0, 'hash210'), (211, 'carol', 'user', 210, 'hash211');
INSERT INTO acc_groups (id, name, group_type, only_view, owner_id) VALUES
  (10, 'Editors without options', 'accountant', 0, 0),
  (11, 'View-only with all rights', 'accountant', 1, 0),
  (12, 'Some options', 'accountant', 0, 0);
INSERT INTO acc_group_rights (acc_group_id, acc_right_id, value) VALUES
  (10, 1, 2),
  (11, 1, 2), (11, 2, 2), (11, 3, 2), (11, 4, 2), (11, 5, 2), (11, 6, 2), (11, 7, 2), (11, 8, 2),
  (12, 1, 2), (12, 4, 2), (12, 5, 1), (12, 7, 2), (12, 2, 0);
INSERT INTO users (id, username, usertype, owner_id, acc_group_id, uniquehash) VALUES
  (310, 'limited', 'accountant', 0, 10, 'hash310'), (320, 'viewonly', 'accountant', 0, 11, 'hash320'),
  (330, 'partial', 'accountant', 0, 12, 'hash330');
INSERT INTO conflines (name, value, owner_id) VALUES ('two_fa_enabled', '1', 0);
";

/// A server prepared for one actor, with a snapshot to return to after allowed changes.
struct Matrix {
    app: TestApp,
    actor: Actor,
    baseline: String,
    rows: Vec<(Table, i64, Row)>,
    failures: Vec<String>,
    requests: usize,
}

impl Matrix {
    async fn new(actor: Actor) -> Matrix {
        let app = TestApp::spawn().await;
        app.sql(FIXTURES).await;
        if let Actor::Reseller { pro, pbx, .. } = actor {
            if pro {
                app.sql("UPDATE users SET own_providers = 1 WHERE id = 200").await;
            }
            if !pbx {
                app.sql("DELETE FROM acc_group_rights WHERE acc_group_id = 3 AND acc_right_id = 9").await;
            }
        }
        let mut rows = Vec::new();
        for &id in DEMO_USERS.iter().chain(EXTRA_USERS) {
            if let Some(row) = app.row(Table::Users, id).await {
                rows.push((Table::Users, id, row));
            }
        }
        for id in 1..=5 {
            for table in [Table::Addresses, Table::Taxes] {
                rows.push((table, id, app.row(table, id).await.expect("demo row")));
            }
        }
        let baseline = dump(&app).await;
        Matrix { app, actor, baseline, rows, failures: Vec::new(), requests: 0 }
    }

    /// Puts every row back as it was and forgets the audit trail.
    async fn restore(&self) {
        let rows = self.rows.clone();
        self.app
            .db
            .administer(move |repo| {
                for (table, id, row) in &rows {
                    let values: Vec<(&str, morapi::storage::Value)> =
                        row.iter().filter(|(c, _)| c.as_str() != "id").map(|(c, v)| (c.as_str(), v.clone())).collect();
                    repo.update_row(*table, *id, &values)?;
                }
                repo.execute_script(
                    "DELETE FROM addresses WHERE id > 5; DELETE FROM taxes WHERE id > 5; DELETE FROM audit_log;",
                )?;
                Ok(Tx::Commit(()))
            })
            .await
            .expect("restore");
        assert_eq!(dump(&self.app).await, self.baseline, "restoring the snapshot");
    }

    /// Sends one request and checks answer and state.
    async fn check(&mut self, case: Case, sent: Vec<(String, String)>, expected: Expect, what: &str) {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        let user_id = case.target.map(|t| t.id.to_string());
        if let Some(id) = &user_id {
            pairs.push(("user_id", id));
        }
        pairs.extend(sent.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let before = dump(&self.app).await;
        let body = self.app.update_as(self.actor.username(), self.actor.key(), &pairs).await;
        self.requests += 1;
        let cell = format!("{:?} {:?} target {:?} {what}: sent {pairs:?}", self.actor, case.relation, user_id);
        if body != expected.document() {
            self.failures.push(format!("{cell}\n  expected {expected:?}\n  got {body}"));
        }
        if expected.changes_something() || body == updated() {
            self.restore().await;
        } else if dump(&self.app).await != before {
            self.failures.push(format!("{cell}\n  refused ({expected:?}) but the database changed"));
            self.restore().await;
        }
    }

    /// Every parameter alone, for every relation; then all parameters at once per relation.
    async fn run(mut self) {
        let actor = self.actor;
        for case in cases(actor) {
            let valid_for = case.target.unwrap_or(JOHN);
            for p in PARAMS {
                let sent = params_for(p, actor, valid_for);
                let expected = expect(actor, case, &sent);
                self.check(case, sent, expected, p.name).await;
            }
            // Everything at once: every refusal is listed, in catalogue order.
            let sent: Vec<(String, String)> =
                PARAMS.iter().map(|p| (p.name.to_string(), valid_value(p, actor, valid_for))).collect();
            let expected = expect(actor, case, &sent);
            if expected != Expect::Updated && !matches!(expected, Expect::NotApplicable(_)) {
                self.check(case, sent, expected, "all parameters").await;
            }
        }
        assert!(
            self.failures.is_empty(),
            "{} of {} cells failed:\n{}",
            self.failures.len(),
            self.requests,
            self.failures.join("\n")
        );
    }
}

/// `app.state()` plus the users this file adds.
async fn dump(app: &TestApp) -> String {
    let mut s = app.state().await;
    for &id in EXTRA_USERS {
        s.push_str(&format!("user {id}: {:?}\n", app.row(Table::Users, id).await));
    }
    s
}

async fn matrix(actor: Actor) {
    Matrix::new(actor).await.run().await;
}

#[tokio::test]
async fn admin() {
    matrix(Actor::Admin).await;
}

#[tokio::test]
async fn reseller_not_pro_with_pbx_right() {
    matrix(Actor::Reseller { pro: false, pbx: true, admin_key: false }).await;
}

#[tokio::test]
async fn reseller_not_pro_without_pbx_right() {
    matrix(Actor::Reseller { pro: false, pbx: false, admin_key: false }).await;
}

#[tokio::test]
async fn reseller_pro_with_pbx_right_signing_with_the_admin_key() {
    matrix(Actor::Reseller { pro: true, pbx: true, admin_key: true }).await;
}

#[tokio::test]
async fn reseller_pro_without_pbx_right() {
    matrix(Actor::Reseller { pro: true, pbx: false, admin_key: false }).await;
}

#[tokio::test]
async fn accountant_with_all_rights() {
    matrix(Actor::Accountant { id: 300, rights: ALL_RIGHTS }).await;
}

#[tokio::test]
async fn accountant_with_user_manage_but_no_option_rights() {
    matrix(Actor::Accountant { id: 310, rights: &[] }).await;
}

#[tokio::test]
async fn accountant_with_some_option_rights() {
    // Group 12: opt_3 (LCR) and opt_6 (payment type) with 2; opt_4 (tariff) only 1; opt_1 with 0.
    matrix(Actor::Accountant { id: 330, rights: &["user_create_opt_3", "user_create_opt_6"] }).await;
}

#[tokio::test]
async fn viewer_with_read_only_user_manage() {
    matrix(Actor::AccountantNoWrite { id: 301 }).await;
}

#[tokio::test]
async fn accountant_in_a_view_only_group() {
    // A view-only group counts every 2 as 1 (decisions.md), so user_manage=2 does not allow editing.
    matrix(Actor::AccountantNoWrite { id: 320 }).await;
}

#[tokio::test]
async fn simple_user() {
    matrix(Actor::SimpleUser).await;
}

/// Value-dependent rules: `u13` other than `user` by a reseller, `u13=admin` by an accountant
/// even with the user-type right.
#[tokio::test]
async fn user_type_values() {
    let reseller = Actor::Reseller { pro: false, pbx: true, admin_key: false };
    let accountant = Actor::Accountant { id: 300, rights: ALL_RIGHTS };
    let cells: [(Actor, Case, &str, Expect); 6] = [
        (reseller, case(Relation::Own, ALICE), "user", Expect::Updated),
        (reseller, case(Relation::Own, ALICE), "reseller", Expect::Refused(vec!["u13"])),
        (reseller, case(Relation::Own, ALICE), "admin", Expect::Refused(vec!["u13"])),
        (accountant, case(Relation::Own, JOHN), "admin", Expect::Refused(vec!["u13"])),
        (accountant, case(Relation::Own, JOHN), " admin ", Expect::Refused(vec!["u13"])),
        (accountant, case(Relation::Own, RESELLER), "reseller", Expect::Updated),
    ];
    for (actor, c, value, expected) in cells {
        let sent = vec![("u13".to_string(), value.to_string())];
        assert_eq!(expect(actor, c, &sent), expected, "independent rule for {actor:?} u13={value}");
        let mut m = Matrix::new(actor).await;
        m.check(c, sent, expected, "u13").await;
        assert!(m.failures.is_empty(), "{}", m.failures.join("\n"));
    }
}

/// An accountant never sets the password of an admin-type user, even with the password right.
/// (The admin himself, id 0, is refused earlier by step 4, so this uses a second admin-type row.)
#[tokio::test]
async fn accountant_never_sets_an_admins_password() {
    let accountant = Actor::Accountant { id: 300, rights: ALL_RIGHTS };
    let mut m = Matrix::new(accountant).await;
    m.app.sql("INSERT INTO users (id, username, usertype, owner_id) VALUES (900, 'admin2', 'admin', 0)").await;
    m.rows.push((Table::Users, 900, m.app.row(Table::Users, 900).await.expect("row")));
    m.baseline = dump(&m.app).await;
    let admin2 = Target { id: 900, owner: 0, usertype: "admin", has_email: false };
    let sent = vec![("pswd".to_string(), "Secret123".to_string())];
    let expected = expect(accountant, case(Relation::Own, admin2), &sent);
    assert_eq!(expected, Expect::Refused(vec!["pswd"]));
    m.check(case(Relation::Own, admin2), sent, expected, "pswd").await;
    // Other fields of that user stay editable.
    let sent = vec![("u17".to_string(), "Tst".to_string())];
    m.check(case(Relation::Own, admin2), sent, Expect::Updated, "u17").await;
    assert!(m.failures.is_empty(), "{}", m.failures.join("\n"));
}

/// The independent tables name only catalogued parameters, and every catalogued parameter gets a
/// valid value for every actor and target (so no cell is silently skipped).
#[test]
fn rule_tables_name_catalogued_parameters() {
    for name in rules::all_names() {
        assert!(PARAMS.iter().any(|p| p.name == name), "{name} is in the rule tables but not in the catalogue");
    }
    assert!(PARAMS.len() >= 90, "the catalogue lists every parameter of the seed");
}
