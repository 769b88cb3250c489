//! `morapi docs`: the settings table and the parameter catalogue as Markdown. README.md holds
//! their output between `<!-- generated: … -->` markers, and `tests/readme.rs` fails when the two
//! drift apart.

use crate::auth::hash::{Variant, hash_string};
use crate::catalogue::params::{AccountantAccess, AppliesTo, Kind, PARAMS, Param, RefKind, ResellerRule, Target};
use crate::settings::{self, Family, Scope, Setting, Truth};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  morapi docs settings\n  morapi docs params\n\n\
README.md's tables are this output, between <!-- generated: morapi docs … --> markers.")]
pub struct Opts {
    /// Which table.
    #[arg(value_enum)]
    pub table: Table,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Table {
    /// API settings: scope, accepted values, default, meaning.
    Settings,
    /// user_details_update's parameters: value, destination, hashing, who may set them.
    Params,
}

pub fn run(opts: Opts) -> anyhow::Result<()> {
    print!(
        "{}",
        match opts.table {
            Table::Settings => settings_markdown(),
            Table::Params => params_markdown(),
        }
    );
    Ok(())
}

/// Text for one table cell: `|` would end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut out = format!("| {} |\n|{}\n", header.join(" | "), "---|".repeat(header.len()));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// The values `morapi settings set` accepts for a setting, and how a switch is read.
fn setting_values(s: Setting) -> String {
    match s.kind() {
        settings::Kind::Flag(Truth::One) => "0 or 1".into(),
        settings::Kind::Flag(Truth::NotZero) => "0 or 1 (only 0 is off; blank is on)".into(),
        settings::Kind::Int { min, max } => format!("{min} to {max}"),
        settings::Kind::PrivacyMask => "0 to 7, or -1".into(),
        settings::Kind::Secret => "text (shown as `***`)".into(),
        settings::Kind::Text => "text".into(),
    }
}

/// The settings table: name, scope, accepted values, default, meaning.
pub fn settings_markdown() -> String {
    let rows = Setting::ALL.into_iter().map(|s| {
        vec![
            format!("`{}`", s.name()),
            match s.def().scope {
                Scope::Global => "global".into(),
                Scope::PerOwner => "per owner".into(),
            },
            setting_values(s),
            if s.default_value().is_empty() { "empty".into() } else { s.default_value().into() },
            s.description().into(),
        ]
    });
    // The `default_user_<column>` / `default_tax_<column>` families: one row each.
    let families = Family::ALL.into_iter().map(|f| {
        vec![
            format!("`{}`", f.pattern()),
            "per owner".into(),
            format!("as the update parameter of the column; columns: {}", f.columns().join(", ")),
            "the schema default".into(),
            f.description().into(),
        ]
    });
    table(&["setting", "scope", "values", "default", "meaning"], rows.chain(families))
}

fn record(r: RefKind) -> &'static str {
    match r {
        RefKind::Tariff => "tariff",
        RefKind::Lcr => "LCR",
        RefKind::PbxPool => "PBX pool",
        RefKind::QuickforwardRule => "quick-forward rule",
        RefKind::Currency => "currency",
        RefKind::Direction => "direction",
        RefKind::SoundFile => "sound file",
        RefKind::Device => "device",
        RefKind::NumberPool => "number pool",
        RefKind::AccGroup => "group",
    }
}

/// What a parameter's value must be, with its limits.
fn value(p: &Param) -> String {
    let setting = |s: Setting| format!("`{}`", s.name());
    match p.kind {
        Kind::Text { max } => format!("text, at most {max} characters"),
        Kind::Int { min, max } => format!("whole number {min} to {max}"),
        Kind::IntClampZero => "whole number; below 0 is stored as 0".into(),
        Kind::Flag => "number: above 0 is on (1), else off (0)".into(),
        Kind::Decimal => "decimal (`.` or `,`)".into(),
        Kind::DecimalClampZero => "decimal; 0 or less is stored as 0 (unlimited)".into(),
        Kind::DecimalNonNegative => "decimal, 0 or more".into(),
        Kind::Ref(r) if r.zero_clears() => format!("{} id; 0 = none", record(r)),
        Kind::Ref(r) => format!("{} id", record(r)),
        Kind::Enum(words) => words.iter().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(", "),
        Kind::TimeZone => "time zone name, e.g. `Vilnius`".into(),
        Kind::Email { max } => format!(
            "e-mail addresses separated by `;`, up to {max} characters; unique unless {}",
            setting(Setting::AllowIdenticalEmailAddressesToDifferentUsers)
        ),
        Kind::RecordingsEmail { max } => format!("e-mail addresses separated by `;`, up to {max} characters"),
        Kind::Username { max } => {
            format!("unique login name of {} to {max} characters", setting(Setting::DefaultUserUsernameLength))
        }
        Kind::Password => format!(
            "new password; rules from {} and {}",
            setting(Setting::UseStrongPasswordsForUsers),
            setting(Setting::DefaultUserPasswordLength)
        ),
        Kind::DatePart => "one part of a date sent as year, month and day".into(),
        Kind::PrivacyBit { bit: 1 } => "0 = off, 1 = on (adds 1 to `hide_destination_end`)".into(),
        Kind::PrivacyBit { bit } => format!("0 = off; 1 or {bit} = on (adds {bit} to `hide_destination_end`)"),
        Kind::InvoiceBit { bit } => format!("0 = off, {bit} = on (adds {bit} to `send_invoice_types`)"),
        Kind::UserType => "the user's own type (a change of type is refused)".into(),
        Kind::ResponsibleAccountant => "accountant id; -1 = none".into(),
        Kind::Inert => "anything; changes nothing".into(),
    }
}

fn stored_in(target: Target) -> String {
    match target {
        Target::User(c) => format!("`users.{c}`"),
        Target::Address(c) => format!("`addresses.{c}`"),
        Target::Tax(c) => format!("`taxes.{c}`"),
        Target::Derived(c) => format!("`users.{c}` (combined)"),
        Target::None => "—".into(),
    }
}

/// Whether a parameter enters the hash, asked of the hashing code itself for both variants.
fn hashed(name: &str) -> String {
    let params = crate::params::Params::from_pairs([(name.to_string(), "1".to_string())]);
    let by = |variant| !hash_string(&params, variant).is_empty();
    match (by(Variant::Documented), by(Variant::MorActual)) {
        (true, true) => "yes".into(),
        (true, false) => "documented only (MOR's own code leaves it out)".into(),
        (false, true) => "by MOR's code only".into(),
        (false, false) => "no".into(),
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes".into() } else { "no".into() }
}

fn accountant(a: AccountantAccess) -> String {
    match a {
        AccountantAccess::Allowed => "yes".into(),
        AccountantAccess::Never => "no".into(),
        AccountantAccess::Needs(right) => format!("with `{}`", right.name()),
    }
}

fn reseller(r: ResellerRule) -> String {
    match r {
        ResellerRule::Allowed => "yes".into(),
        ResellerRule::Never => "no".into(),
        ResellerRule::ProOnly => "Reseller PRO only".into(),
        ResellerRule::NotPro => "not Reseller PRO".into(),
        ResellerRule::PbxFunctions => "with `pbx_functions`".into(),
        ResellerRule::UserTypeUserOnly => "only `user`".into(),
    }
}

/// The parameter table of `user_details_update`, in the catalogue's order.
pub fn params_markdown() -> String {
    let rows = PARAMS.iter().map(|p| {
        let meaning = match p.applies_to {
            AppliesTo::Everyone => p.label.to_string(),
            only => format!("{} (of {} only)", p.label, only.describe()),
        };
        vec![
            format!("`{}`", p.name),
            meaning,
            value(p),
            stored_in(p.target),
            hashed(p.name),
            accountant(p.access.accountant),
            reseller(p.access.reseller_user),
            yes_no(p.access.reseller_self),
        ]
    });
    table(
        &[
            "parameter",
            "meaning",
            "value",
            "stored in",
            "hashed",
            "accountant",
            "reseller, on his users",
            "reseller, on himself",
        ],
        rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_and_parameter_has_one_row() {
        let settings = settings_markdown();
        assert_eq!(settings.lines().count(), Setting::ALL.len() + Family::ALL.len() + 2);
        assert!(
            settings
                .contains("| `use_strong_passwords_for_users` | global | 0 or 1 (only 0 is off; blank is on) | 1 |")
        );
        assert!(settings.contains("| `api_secret_key` | per owner | text (shown as `***`) | empty |"));
        let params = params_markdown();
        assert_eq!(params.lines().count(), PARAMS.len() + 2);
        assert!(
            params.contains(
                "| `u5` | tariff | tariff id | `users.tariff_id` | yes | with `user_create_opt_4` | yes | no |"
            ),
            "{params}"
        );
        assert!(params.contains("| `u29` | PBX pool | PBX pool id; 0 = none | `users.pbx_pool_id` | no | no |"));
        assert!(params.contains("| `own_providers` | Reseller PRO (of resellers only) |"));
        assert!(params.contains("| `pgui` | privacy GUI | 0 = off, 1 = on (adds 1 to `hide_destination_end`) | `users.hide_destination_end` (combined) | documented only"), "{params}");
    }

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(cell("a|b"), "a\\|b");
        let t = table(&["x"], std::iter::once(vec!["1|2".to_string()]));
        assert_eq!(t, "| x |\n|---|\n| 1\\|2 |\n");
    }
}
