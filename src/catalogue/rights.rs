//! The group rights morapi reads (`acc_rights.name`), with MOR's meanings (docs/contract.md §5.1–§5.2).

/// One right: its name, whose groups have it, and what it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Right {
    pub name: &'static str,
    pub right_type: &'static str,
    pub description: &'static str,
}

/// Accountants: whether they may view (1) or edit (2) users.
pub const USER_MANAGE: &str = "user_manage";
/// Resellers: whether they may put their users in PBX pools.
pub const PBX_FUNCTIONS: &str = "pbx_functions";

pub static RIGHTS: &[Right] = &[
    Right { name: USER_MANAGE, right_type: "accountant", description: "users: 1 = view, 2 = edit" },
    Right { name: "user_create_opt_1", right_type: "accountant", description: "change passwords (2)" },
    Right { name: "user_create_opt_2", right_type: "accountant", description: "change user type (2)" },
    Right { name: "user_create_opt_3", right_type: "accountant", description: "change LCR (2)" },
    Right { name: "user_create_opt_4", right_type: "accountant", description: "change tariff (2)" },
    Right { name: "user_create_opt_5", right_type: "accountant", description: "change balance (2)" },
    Right { name: "user_create_opt_6", right_type: "accountant", description: "change payment type and hidden (2)" },
    Right { name: "user_create_opt_7", right_type: "accountant", description: "change call limit (2)" },
    Right { name: PBX_FUNCTIONS, right_type: "reseller", description: "PBX pools for his users (1 or 2)" },
];

pub fn find(name: &str) -> Option<&'static Right> {
    RIGHTS.iter().find(|r| r.name == name)
}

#[cfg(test)]
mod tests {
    use crate::catalogue::params::{AccountantAccess, PARAMS};

    #[test]
    fn every_right_the_catalogue_uses_is_listed() {
        for p in PARAMS {
            if let AccountantAccess::Needs(r) = p.access.accountant {
                assert!(super::find(r.name()).is_some(), "{}", r.name());
            }
        }
    }
}
