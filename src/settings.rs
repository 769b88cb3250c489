//! Settings per owner (0 = admin/global, or a reseller id), stored in `conflines`
//! (behaviour.md §7). Names are the project's; meanings are MOR's (mor-reference §5.1).

use crate::storage::{RequestStore, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    AllowApi,
    ApiSecretKey,
    ApiDisableHashChecking,
    AllowGetApi,
    AllowResellersToUseAdminTariffs,
    AllowResellersToUseAdminQuickforwardRules,
    UseStrongPasswordsForUsers,
    DefaultUserPasswordLength,
    DefaultUserUsernameLength,
    AllowIdenticalEmailAddressesToDifferentUsers,
    TwoFaEnabled,
    HideDestinationEnd,
}

impl Setting {
    pub const ALL: [Setting; 12] = [
        Setting::AllowApi,
        Setting::ApiSecretKey,
        Setting::ApiDisableHashChecking,
        Setting::AllowGetApi,
        Setting::AllowResellersToUseAdminTariffs,
        Setting::AllowResellersToUseAdminQuickforwardRules,
        Setting::UseStrongPasswordsForUsers,
        Setting::DefaultUserPasswordLength,
        Setting::DefaultUserUsernameLength,
        Setting::AllowIdenticalEmailAddressesToDifferentUsers,
        Setting::TwoFaEnabled,
        Setting::HideDestinationEnd,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Setting::AllowApi => "allow_api",
            Setting::ApiSecretKey => "api_secret_key",
            Setting::ApiDisableHashChecking => "api_disable_hash_checking",
            Setting::AllowGetApi => "allow_get_api",
            Setting::AllowResellersToUseAdminTariffs => "allow_resellers_to_use_admin_tariffs",
            Setting::AllowResellersToUseAdminQuickforwardRules => "allow_resellers_to_use_admin_quickforward_rules",
            Setting::UseStrongPasswordsForUsers => "use_strong_passwords_for_users",
            Setting::DefaultUserPasswordLength => "default_user_password_length",
            Setting::DefaultUserUsernameLength => "default_user_username_length",
            Setting::AllowIdenticalEmailAddressesToDifferentUsers => {
                "allow_identical_email_addresses_to_different_users"
            }
            Setting::TwoFaEnabled => "two_fa_enabled",
            Setting::HideDestinationEnd => "hide_destination_end",
        }
    }

    /// The value a missing row reads as.
    pub fn default_value(self) -> &'static str {
        match self {
            Setting::AllowApi | Setting::ApiDisableHashChecking | Setting::AllowGetApi => "0",
            Setting::ApiSecretKey => "",
            Setting::AllowResellersToUseAdminTariffs | Setting::AllowResellersToUseAdminQuickforwardRules => "0",
            // MOR treats a blank setting as on: strong passwords by default.
            Setting::UseStrongPasswordsForUsers => "1",
            Setting::DefaultUserPasswordLength => "6",
            Setting::DefaultUserUsernameLength => "1",
            Setting::AllowIdenticalEmailAddressesToDifferentUsers | Setting::TwoFaEnabled => "0",
            Setting::HideDestinationEnd => "0",
        }
    }

    /// What it means, for `--help` and the README.
    pub fn description(self) -> &'static str {
        match self {
            Setting::AllowApi => "API enabled for this owner (admin: globally)",
            Setting::ApiSecretKey => "secret key requests are signed with",
            Setting::ApiDisableHashChecking => "1 = accept requests without a valid hash",
            Setting::AllowGetApi => "1 = accept GET as well as POST (global only)",
            Setting::AllowResellersToUseAdminTariffs => "resellers may assign admin retail/wholesale tariffs",
            Setting::AllowResellersToUseAdminQuickforwardRules => "resellers may assign admin quick-forward rules",
            Setting::UseStrongPasswordsForUsers => "passwords need a digit, a capital and a lower-case letter",
            Setting::DefaultUserPasswordLength => "minimum password length (at least 6; 8 with strong passwords)",
            Setting::DefaultUserUsernameLength => "minimum username length",
            Setting::AllowIdenticalEmailAddressesToDifferentUsers => "1 = e-mail addresses need not be unique",
            Setting::TwoFaEnabled => "two-factor authentication available system-wide",
            Setting::HideDestinationEnd => "global privacy mask used by users whose own value is -1",
        }
    }

    /// Whether only owner 0 has this setting.
    pub fn global_only(self) -> bool {
        !matches!(
            self,
            Setting::AllowApi
                | Setting::ApiSecretKey
                | Setting::ApiDisableHashChecking
                | Setting::DefaultUserPasswordLength
                | Setting::DefaultUserUsernameLength
                | Setting::HideDestinationEnd
        )
    }

    /// The value to store for `raw`, or why it is refused.
    pub fn check(self, raw: &str) -> std::result::Result<String, String> {
        let v = raw.trim();
        let name = self.name();
        match self {
            Setting::ApiSecretKey => Ok(v.to_string()),
            Setting::DefaultUserPasswordLength | Setting::DefaultUserUsernameLength => match v.parse::<i64>() {
                Ok(n) if (1..=100).contains(&n) => Ok(n.to_string()),
                _ => Err(format!("{name} must be a whole number from 1 to 100")),
            },
            Setting::HideDestinationEnd => match v.parse::<i64>() {
                Ok(n) if (-1..=7).contains(&n) => Ok(n.to_string()),
                _ => Err(format!("{name} must be -1 (global) or a mask from 0 to 7")),
            },
            _ if v == "0" || v == "1" => Ok(v.to_string()),
            _ => Err(format!("{name} must be 0 or 1")),
        }
    }

    pub fn secret(self) -> bool {
        crate::catalogue::is_secret(self.name())
    }

    pub fn by_name(name: &str) -> Option<Setting> {
        Setting::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Reads the setting of `owner`, falling back to the default when never set. Values are
    /// stored trimmed, as MOR does.
    pub fn read(self, repo: &mut dyn RequestStore, owner: i64) -> Result<String> {
        let owner = if self.global_only() { 0 } else { owner };
        Ok(repo
            .setting(owner, self.name())?
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| self.default_value().to_string()))
    }
}

impl Setting {
    /// Reads a switch as MOR does: on when `1`; `use_strong_passwords_for_users` is on unless `0`.
    pub fn flag(self, repo: &mut dyn RequestStore, owner: i64) -> Result<bool> {
        let v = self.read(repo, owner)?;
        Ok(if self == Setting::UseStrongPasswordsForUsers { v != "0" } else { v == "1" })
    }

    /// Reads a whole number; an unreadable value counts as the default.
    pub fn int(self, repo: &mut dyn RequestStore, owner: i64) -> Result<i64> {
        let v = self.read(repo, owner)?;
        Ok(crate::values::int(&v).or_else(|| crate::values::int(self.default_value())).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked() {
        assert_eq!(Setting::AllowApi.check(" 1 "), Ok("1".into()));
        assert!(Setting::AllowApi.check("yes").is_err());
        assert_eq!(Setting::DefaultUserPasswordLength.check("10"), Ok("10".into()));
        assert!(Setting::DefaultUserPasswordLength.check("0").is_err());
        assert!(Setting::HideDestinationEnd.check("8").is_err());
        assert_eq!(Setting::HideDestinationEnd.check("-1"), Ok("-1".into()));
        assert_eq!(Setting::ApiSecretKey.check(" k "), Ok("k".into()));
    }

    #[test]
    fn names_round_trip() {
        for s in Setting::ALL {
            assert_eq!(Setting::by_name(s.name()), Some(s));
        }
        assert_eq!(Setting::by_name("nope"), None);
    }
}
