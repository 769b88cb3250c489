//! Who may do what: small pure predicates over the caller, the target and the catalogue's access
//! rules (docs/contract.md §5.1–§5.2, steps 4–7). No I/O here: the caller's group rights
//! are looked up first and passed in.

use crate::catalogue::params::{AccRight, AccountantAccess, Kind, Param, ResellerRule};
use crate::domain::UserType;
use crate::storage::UserFilter;

pub use crate::domain::Role;

/// Step 4: may this caller use `user_details_update` at all for this `user_id`?
/// Simple users never; accountants not without a target, on id 0 or on themselves.
pub fn may_call_update(role: Role, caller_id: i64, user_id: Option<i64>) -> bool {
    match role {
        Role::User => false,
        Role::Accountant => !matches!(user_id, None | Some(0)) && user_id != Some(caller_id),
        Role::Admin | Role::Reseller => true,
    }
}

/// Step 5: is the target visible to the caller? Admin and accountants see owner-0 users (and the
/// admin himself, owner 0); a reseller sees his own users and himself.
pub fn can_see(role: Role, caller_id: i64, target_id: i64, target_owner_id: i64) -> bool {
    match role {
        Role::Admin | Role::Accountant => target_owner_id == 0,
        Role::Reseller => target_owner_id == caller_id || target_id == caller_id,
        Role::User => false,
    }
}

/// Who may read whom (`user_details_get`, `user_details_raw_get`; docs/contract.md §7). Everybody may
/// read himself. Besides: the admin reads the users he owns (owner 0); an accountant reads
/// admin-owned users other than the admin with at least read (1) on `user_manage` (pass the
/// [`effective_right`]); a reseller reads his own users. Nobody else: the caller is answered
/// `User was not found`, exactly as for a user that does not exist.
pub fn may_read(role: Role, caller_id: i64, target_id: i64, target_owner_id: i64, user_manage: i64) -> bool {
    if target_id == caller_id {
        return true;
    }
    match role {
        Role::Admin => target_owner_id == 0,
        Role::Accountant => user_manage >= 1 && target_owner_id == 0 && target_id != 0,
        Role::Reseller => target_owner_id == caller_id,
        Role::User => false,
    }
}

/// A group right's effective value: in a view-only group, write (2) counts as read (1).
pub fn effective_right(value: i64, only_view: bool) -> i64 {
    if only_view && value >= 2 { 1 } else { value }
}

/// Step 6: an accountant edits users only with `user_manage` = 2 (write).
pub fn accountant_may_edit(user_manage: i64, only_view: bool) -> bool {
    effective_right(user_manage, only_view) == 2
}

/// What step 7 needs to know about the caller and the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldContext<'a> {
    pub role: Role,
    /// The caller edits his own account.
    pub self_edit: bool,
    /// The target is the admin (id 0).
    pub target_is_admin: bool,
    /// Reseller PRO (`own_providers` = 1).
    pub reseller_pro: bool,
    /// The reseller's group grants `pbx_functions`.
    pub reseller_pbx: bool,
    /// Accountant rights granted with write.
    pub accountant_rights: &'a [AccRight],
}

/// Step 7: may the caller set `param` to `value`?
pub fn may_set(ctx: &FieldContext<'_>, param: &Param, value: &str) -> bool {
    match ctx.role {
        Role::Admin => true,
        Role::User => false,
        Role::Accountant => {
            let allowed = match param.access.accountant {
                AccountantAccess::Allowed => true,
                AccountantAccess::Never => false,
                AccountantAccess::Needs(right) => ctx.accountant_rights.contains(&right),
            };
            // No accountant makes anybody an admin or sets the admin's password.
            let value_ok = match param.kind {
                Kind::UserType => value.trim() != UserType::Admin.word(),
                Kind::Password => !ctx.target_is_admin,
                _ => true,
            };
            allowed && value_ok
        }
        Role::Reseller if ctx.self_edit => param.access.reseller_self,
        Role::Reseller => match param.access.reseller_user {
            ResellerRule::Allowed => true,
            ResellerRule::Never => false,
            ResellerRule::ProOnly => ctx.reseller_pro,
            ResellerRule::NotPro => !ctx.reseller_pro,
            ResellerRule::PbxFunctions => ctx.reseller_pbx,
            ResellerRule::UserTypeUserOnly => ["", UserType::User.word()].contains(&value.trim()),
        },
    }
}

// --- users_get ---

/// What `users_get` answers a caller whose credentials are right (lifecycle §3.2, steps 3–5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    /// A simple user: `Access Denied`.
    Denied,
    /// An accountant without at least read on `user_manage`: `You are not authorized to view
    /// this page`.
    NotAuthorized,
    /// The users he sees (MOR's visibility, wider than `user_details_get`'s): the admin every
    /// user but himself; an accountant every user but the admin and the accountants; a reseller
    /// his own users. Hidden and blocked users are listed.
    Users(UserFilter),
}

/// Who `users_get` lists for a caller: his role, his id, and (accountants) his
/// [`effective_right`] on `user_manage`.
pub fn users_listing(role: Role, caller_id: i64, user_manage: i64) -> Listing {
    match role {
        Role::User => Listing::Denied,
        Role::Accountant if user_manage < 1 => Listing::NotAuthorized,
        Role::Accountant => Listing::Users(UserFilter {
            without_admin: true,
            without_usertype: Some(UserType::Accountant.word()),
            ..UserFilter::default()
        }),
        Role::Admin => Listing::Users(UserFilter { without_admin: true, ..UserFilter::default() }),
        Role::Reseller => Listing::Users(UserFilter { owner_id: Some(caller_id), ..UserFilter::default() }),
    }
}

#[cfg(test)]
mod users_listing_tests {
    use super::*;

    /// What a filter admits, as the query reads it (`sql.rs`, `users_listed`).
    fn admits(f: &UserFilter, (id, owner_id, usertype): (i64, i64, &str)) -> bool {
        f.owner_id.is_none_or(|o| o == owner_id)
            && !(f.without_admin && id == 0)
            && f.without_usertype.is_none_or(|t| t != usertype)
    }

    /// The demo's users: (id, owner, type).
    const DEMO: [(i64, i64, &str); 8] = [
        (0, 0, "admin"),
        (123, 0, "user"),
        (200, 0, "reseller"),
        (201, 200, "user"),
        (202, 200, "user"),
        (300, 0, "accountant"),
        (301, 0, "accountant"),
        (789, 0, "user"),
    ];

    fn listed(role: Role, caller_id: i64, user_manage: i64) -> Option<Vec<i64>> {
        match users_listing(role, caller_id, user_manage) {
            Listing::Users(f) => Some(DEMO.iter().filter(|u| admits(&f, **u)).map(|u| u.0).collect()),
            _ => None,
        }
    }

    #[test]
    fn every_role_and_right() {
        for right in [0, 1, 2] {
            assert_eq!(listed(Role::Admin, 0, right), Some(vec![123, 200, 201, 202, 300, 301, 789]));
            assert_eq!(listed(Role::Reseller, 200, right), Some(vec![201, 202]));
            assert_eq!(users_listing(Role::User, 123, right), Listing::Denied);
        }
        assert_eq!(users_listing(Role::Accountant, 300, 0), Listing::NotAuthorized);
        assert_eq!(users_listing(Role::Accountant, 300, -1), Listing::NotAuthorized);
        for right in [1, 2] {
            assert_eq!(listed(Role::Accountant, 300, right), Some(vec![123, 200, 201, 202, 789]));
        }
        // A reseller without users sees nobody (answered `No Users found`).
        assert_eq!(listed(Role::Reseller, 201, 0), Some(vec![]));
    }

    #[test]
    fn the_accountants_right_is_the_effective_one() {
        // A view-only group's write counts as read: still enough to list.
        assert!(matches!(users_listing(Role::Accountant, 300, effective_right(2, true)), Listing::Users(_)));
        assert_eq!(users_listing(Role::Accountant, 300, effective_right(0, true)), Listing::NotAuthorized);
    }
}

// --- user_delete ---

/// `user_delete` step 4, for a target the caller can see ([`can_see`]): may he delete it?
/// `user_manage` is the accountant's [`effective_right`]. Resellers and accountants are deleted
/// by the admin only; an accountant needs write (2) and deletes simple users only; a reseller
/// deletes his simple users (himself passes here and is refused by the next step, which says
/// why). Partners count as simple users nowhere: only the admin deletes them.
pub fn may_delete(role: Role, user_manage: i64, target_type: UserType, target_is_caller: bool) -> bool {
    match role {
        Role::Admin => true,
        Role::Accountant => user_manage == 2 && target_type == UserType::User,
        Role::Reseller => target_is_caller || target_type == UserType::User,
        Role::User => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::params::{PARAMS, find};

    const ROLES: [Role; 4] = [Role::Admin, Role::Reseller, Role::Accountant, Role::User];

    fn ctx(role: Role, self_edit: bool) -> FieldContext<'static> {
        FieldContext {
            role,
            self_edit,
            target_is_admin: false,
            reseller_pro: false,
            reseller_pbx: false,
            accountant_rights: &[],
        }
    }

    fn param(name: &str) -> &'static Param {
        find(name).unwrap_or_else(|| panic!("{name} not catalogued"))
    }

    #[test]
    fn roles_from_usertypes() {
        use crate::domain::UserType;
        assert_eq!(Role::of(UserType::stored("")), Role::User);
    }

    #[test]
    fn who_may_call_update() {
        for user_id in [None, Some(0), Some(7), Some(9)] {
            assert!(may_call_update(Role::Admin, 0, user_id));
            assert!(may_call_update(Role::Reseller, 7, user_id));
            assert!(!may_call_update(Role::User, 7, user_id));
        }
        assert!(!may_call_update(Role::Accountant, 7, None));
        assert!(!may_call_update(Role::Accountant, 7, Some(0)));
        assert!(!may_call_update(Role::Accountant, 7, Some(7)));
        assert!(may_call_update(Role::Accountant, 7, Some(9)));
    }

    #[test]
    fn visibility_of_targets() {
        // (role, caller, target id, target owner) → visible
        let cases = [
            (Role::Admin, 0, 123, 0, true),
            (Role::Admin, 0, 0, 0, true),
            (Role::Admin, 0, 55, 3, false),
            (Role::Accountant, 4, 123, 0, true),
            (Role::Accountant, 4, 55, 3, false),
            (Role::Reseller, 3, 55, 3, true),
            (Role::Reseller, 3, 3, 0, true),
            (Role::Reseller, 3, 123, 0, false),
            (Role::Reseller, 3, 66, 8, false),
            (Role::User, 123, 123, 0, false),
        ];
        for (role, caller, id, owner, expected) in cases {
            assert_eq!(can_see(role, caller, id, owner), expected, "{role:?} {caller} → {id}/{owner}");
        }
    }

    #[test]
    fn who_may_read_whom() {
        // Demo-like ids: admin 0, reseller 200 (owner 0) with user 201, reseller 210 with user 211,
        // admin users 123 and 789, accountants 300 and 301 (owner 0).
        const RESELLER: i64 = 200;
        const OTHER_RESELLER: i64 = 210;
        // Every kind of target: (id, owner).
        let targets =
            [(0, 0), (123, 0), (789, 0), (RESELLER, 0), (201, RESELLER), (211, OTHER_RESELLER), (300, 0), (301, 0)];
        // Every kind of caller with its `user_manage` right, and what it may read, target by target.
        let matrix = [
            (Role::Admin, 0, 0, "TTTTFFTT"),
            (Role::Admin, 0, 2, "TTTTFFTT"),
            (Role::Accountant, 300, 0, "FFFFFFTF"),
            (Role::Accountant, 300, 1, "FTTTFFTT"),
            (Role::Accountant, 300, 2, "FTTTFFTT"),
            (Role::Reseller, RESELLER, 0, "FFFTTFFF"),
            (Role::Reseller, RESELLER, 2, "FFFTTFFF"),
            (Role::User, 123, 0, "FTFFFFFF"),
            (Role::User, 123, 2, "FTFFFFFF"),
            (Role::User, 201, 0, "FFFFTFFF"),
        ];
        for (role, caller, right, row) in matrix {
            for ((id, owner), expected) in targets.iter().zip(row.chars()) {
                assert_eq!(
                    may_read(role, caller, *id, *owner, right),
                    expected == 'T',
                    "{role:?} {caller} (user_manage {right}) → {id}/{owner}"
                );
            }
        }
        // The cases spelled out.
        assert!(may_read(Role::Admin, 0, 0, 0, 0), "admin reads himself");
        assert!(may_read(Role::Admin, 0, 123, 0, 0), "admin reads his user");
        assert!(may_read(Role::Admin, 0, RESELLER, 0, 0), "admin reads his reseller");
        assert!(!may_read(Role::Admin, 0, 201, RESELLER, 0), "not a reseller's user");
        assert!(may_read(Role::Accountant, 300, 123, 0, 1), "read right suffices");
        assert!(may_read(Role::Accountant, 300, 123, 0, 2));
        assert!(!may_read(Role::Accountant, 300, 123, 0, 0), "no right, no read");
        assert!(!may_read(Role::Accountant, 300, 0, 0, 2), "never the admin");
        assert!(!may_read(Role::Accountant, 300, 201, RESELLER, 2), "never a reseller's user");
        assert!(may_read(Role::Accountant, 300, 300, 0, 0), "himself without any right");
        assert!(may_read(Role::Accountant, 300, 301, 0, 1), "another accountant of the admin");
        assert!(may_read(Role::Reseller, RESELLER, RESELLER, 0, 0), "reseller reads himself");
        assert!(may_read(Role::Reseller, RESELLER, 201, RESELLER, 0), "and his users");
        assert!(!may_read(Role::Reseller, RESELLER, 123, 0, 0), "not the admin's users");
        assert!(!may_read(Role::Reseller, RESELLER, 0, 0, 0), "not the admin");
        assert!(!may_read(Role::Reseller, RESELLER, 211, OTHER_RESELLER, 2), "not another reseller's users");
        assert!(may_read(Role::User, 123, 123, 0, 0), "a user reads himself");
        assert!(!may_read(Role::User, 123, 789, 0, 2), "and nobody else");
        assert!(!may_read(Role::User, 201, RESELLER, 0, 0), "not even his reseller");
    }

    #[test]
    fn accountant_write_right() {
        assert!(accountant_may_edit(2, false));
        assert!(!accountant_may_edit(2, true));
        assert!(!accountant_may_edit(1, false));
        assert!(!accountant_may_edit(0, false));
        assert_eq!(effective_right(2, true), 1);
        assert_eq!(effective_right(1, true), 1);
        assert_eq!(effective_right(2, false), 2);
    }

    #[test]
    fn admin_may_set_everything_and_simple_users_nothing() {
        for p in PARAMS {
            assert!(may_set(&ctx(Role::Admin, false), p, "1"), "{}", p.name);
            assert!(may_set(&ctx(Role::Admin, true), p, "1"), "{}", p.name);
            assert!(!may_set(&ctx(Role::User, false), p, "1"), "{}", p.name);
        }
    }

    #[test]
    fn accountant_rights_gate_their_fields() {
        let gated = [
            ("pswd", AccRight::Password),
            ("u13", AccRight::UserType),
            ("u1", AccRight::Lcr),
            ("u5", AccRight::Tariff),
            ("u25", AccRight::PaymentType),
            ("u28", AccRight::PaymentType),
            ("u18", AccRight::CallLimit),
        ];
        for (name, right) in gated {
            let p = param(name);
            assert!(!may_set(&ctx(Role::Accountant, false), p, "user"), "{name} without right");
            let rights = [right];
            let c = FieldContext { accountant_rights: &rights, ..ctx(Role::Accountant, false) };
            assert!(may_set(&c, p, "user"), "{name} with right");
        }
        // Everything not gated by a right (and not Never) is allowed without rights.
        for p in PARAMS {
            let expected = p.access.accountant == AccountantAccess::Allowed;
            assert_eq!(may_set(&ctx(Role::Accountant, false), p, "1"), expected, "{}", p.name);
        }
    }

    #[test]
    fn accountants_never_touch_pbx_pool_or_u30() {
        let c = FieldContext { accountant_rights: &AccRight::ALL, ..ctx(Role::Accountant, false) };
        assert!(!may_set(&c, param("u29"), "1"));
        assert!(!may_set(&c, param("u30"), "1"));
        assert!(may_set(&c, param("u13"), "user"));
        assert!(!may_set(&c, param("u13"), "admin"));
        assert!(!may_set(&c, param("u13"), " admin "));
        assert!(may_set(&c, param("pswd"), "Secret123"));
        let on_admin = FieldContext { target_is_admin: true, ..c };
        assert!(!may_set(&on_admin, param("pswd"), "Secret123"));
    }

    #[test]
    fn reseller_on_his_users() {
        let c = ctx(Role::Reseller, false);
        for name in ["u28", "u31", "max_devices", "own_providers", "ignore_global_monitorings", "accountant_type"] {
            assert!(!may_set(&c, param(name), "1"), "{name}");
        }
        for name in ["enable_static_list", "static_list_id", "enable_static_source_list", "static_source_list_id"] {
            assert!(!may_set(&c, param(name), "1"), "{name}");
        }
        for name in ["u15", "u5", "u16", "u9", "u25", "u18", "credit", "pswd", "a8", "u30", "time_zone"] {
            assert!(may_set(&c, param(name), "1"), "{name}");
        }
        // u13: only `user` (or blank).
        assert!(may_set(&c, param("u13"), "user"));
        assert!(may_set(&c, param("u13"), ""));
        assert!(!may_set(&c, param("u13"), "reseller"));
        assert!(!may_set(&c, param("u13"), "admin"));
    }

    #[test]
    fn reseller_pro_and_pbx_conditions() {
        let plain = ctx(Role::Reseller, false);
        let pro = FieldContext { reseller_pro: true, ..plain };
        let pbx = FieldContext { reseller_pbx: true, ..plain };
        assert!(!may_set(&plain, param("u1"), "1"));
        assert!(may_set(&pro, param("u1"), "1"));
        for name in ["u3", "pgui", "pcsv", "ppdf", "u21", "cyberplat_active"] {
            assert!(may_set(&plain, param(name), "1"), "{name} non-PRO");
            assert!(!may_set(&pro, param(name), "1"), "{name} PRO");
        }
        assert!(!may_set(&plain, param("u29"), "1"));
        assert!(may_set(&pbx, param("u29"), "1"));
    }

    #[test]
    fn reseller_on_himself_only_contact_style_fields() {
        let c = ctx(Role::Reseller, true);
        let allowed = [
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
            "pswd",
            "user_warning_email_hour",
            "warning_email_active",
            "accountant_type_invalid",
            "email_warning_sent_test",
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
            "u30",
            "time_zone",
            "two_fa_enabled",
        ];
        for p in PARAMS {
            assert_eq!(may_set(&c, p, "1"), allowed.contains(&p.name), "{}", p.name);
        }
    }

    #[test]
    fn every_role_and_relation_is_decided_for_every_parameter() {
        // Exhaustive sweep: no combination panics, and refusals are consistent between values
        // for parameters whose rule does not depend on the value.
        for role in ROLES {
            for self_edit in [false, true] {
                for p in PARAMS {
                    let a = may_set(&ctx(role, self_edit), p, "1");
                    let b = may_set(&ctx(role, self_edit), p, "0");
                    if !matches!(p.name, "u13" | "pswd") {
                        assert_eq!(a, b, "{role:?} {self_edit} {}", p.name);
                    }
                }
            }
        }
    }
}

// --- user_delete ---
#[cfg(test)]
mod delete_tests {
    use super::*;

    const ROLES: [Role; 4] = [Role::Admin, Role::Reseller, Role::Accountant, Role::User];

    /// `user_delete` step 2 is the update's step 4 ([`may_call_update`]): simple users never;
    /// accountants not without a target, on id 0 or on themselves.
    #[test]
    fn who_may_call_delete() {
        for role in ROLES {
            for caller in [0, 7] {
                for user_id in [None, Some(0), Some(7), Some(9)] {
                    let expected = match role {
                        Role::Admin | Role::Reseller => true,
                        Role::User => false,
                        Role::Accountant => !matches!(user_id, None | Some(0)) && user_id != Some(caller),
                    };
                    assert_eq!(may_call_update(role, caller, user_id), expected, "{role:?} {caller} → {user_id:?}");
                }
            }
        }
    }

    #[test]
    fn who_may_delete_whom() {
        // Every role × target type × (the caller himself or not) × the accountant's right.
        for role in ROLES {
            for target in UserType::ALL {
                for is_caller in [false, true] {
                    for user_manage in [0, 1, 2] {
                        let expected = match role {
                            Role::Admin => true,
                            Role::Accountant => user_manage == 2 && target == UserType::User,
                            Role::Reseller => is_caller || target == UserType::User,
                            Role::User => false,
                        };
                        assert_eq!(
                            may_delete(role, user_manage, target, is_caller),
                            expected,
                            "{role:?} (user_manage {user_manage}) → {target:?}, himself {is_caller}"
                        );
                    }
                }
            }
        }
        // The cases spelled out.
        assert!(may_delete(Role::Admin, 0, UserType::Reseller, false), "the admin deletes a reseller");
        assert!(may_delete(Role::Admin, 0, UserType::Accountant, false), "and an accountant");
        assert!(may_delete(Role::Accountant, 2, UserType::User, false), "an accountant with write, a user");
        assert!(!may_delete(Role::Accountant, 1, UserType::User, false), "not with read only");
        assert!(!may_delete(Role::Accountant, 2, UserType::Reseller, false), "never a reseller");
        assert!(!may_delete(Role::Accountant, 2, UserType::Accountant, false), "nor another accountant");
        assert!(may_delete(Role::Reseller, 0, UserType::User, false), "a reseller, his user");
        assert!(may_delete(Role::Reseller, 0, UserType::Reseller, true), "himself: refused by step 5");
        assert!(!may_delete(Role::Reseller, 0, UserType::Accountant, false), "no accountant");
        assert!(!may_delete(Role::User, 2, UserType::User, true), "simple users never");
    }

    #[test]
    fn an_accountants_view_only_group_cannot_delete() {
        assert!(!may_delete(Role::Accountant, effective_right(2, true), UserType::User, false));
        assert!(may_delete(Role::Accountant, effective_right(2, false), UserType::User, false));
    }
}
