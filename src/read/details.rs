//! `user_details_get`: MOR's documented `Personal_details` page, with values from the database.
//!
//! Amounts are shown as stored, with four decimals and the user's currency name (morapi keeps no
//! exchange rates per amount: the update stores what it is sent, and this shows it back). Names
//! of countries come from `directions`; an unset or unknown country is empty.

use super::{decimal, four_decimals, linked_row};
use crate::catalogue::errors::details as words;
use crate::http::xml::Element;
use crate::storage::{Repo, Result, Row, Table, User, Value, int, text};
use rust_decimal::Decimal;

/// The whole `<page>` for `user`.
pub fn page(repo: &mut dyn Repo, user: &User) -> Result<Element> {
    let address = linked_row(repo, user, Table::Addresses, "address_id")?.unwrap_or_default();
    let tax = linked_row(repo, user, Table::Taxes, "tax_id")?.unwrap_or_default();
    let currency = name_of(repo, Table::Currencies, user.int("currency_id"))?;
    let taxation_country = name_of(repo, Table::Directions, user.int("taxation_country"))?;
    let reg_direction = name_of(repo, Table::Directions, int(&address, "direction_id"))?;
    Ok(document(user, &address, &tax, &Names { currency, taxation_country, reg_direction }))
}

/// The names `page` looks up in other tables.
struct Names {
    currency: String,
    taxation_country: String,
    reg_direction: String,
}

/// The `name` of a row of `table` (currencies, directions); empty when unset or missing.
fn name_of(repo: &mut dyn Repo, table: Table, id: Option<i64>) -> Result<String> {
    match id.filter(|id| *id > 0) {
        Some(id) => Ok(repo.row(table, id)?.map(|r| text(&r, "name")).unwrap_or_default()),
        None => Ok(String::new()),
    }
}

/// An amount with four decimals; a stored value that is not a number is shown as stored.
fn amount(v: Option<&Value>) -> String {
    match v {
        Some(v) => decimal(v).map_or_else(|| v.render(), four_decimals),
        None => four_decimals(Decimal::ZERO),
    }
}

fn document(user: &User, address: &Row, tax: &Row, names: &Names) -> Element {
    let u = |col: &str| text(&user.row, col);
    let balance = amount(user.row.get("balance"));
    let credit = match user.row.get("credit") {
        Some(v) if decimal(v) == Some(Decimal::NEGATIVE_ONE) => words::UNLIMITED.to_string(),
        other => amount(other),
    };
    let account = if user.int("postpaid") == Some(1) { words::POSTPAID } else { words::PREPAID };
    let vat_percent = match tax.get("tax1_value") {
        Some(v) => decimal(v).map_or_else(|| v.render(), super::canonical),
        None => String::new(),
    };
    let main = Element::new("main_detail").children([
        Element::text("account", account),
        Element::text("balance", format!("{balance} {}", names.currency)),
        Element::text("balance_number", balance),
        Element::text("balance_currency", names.currency.as_str()),
        Element::text("credit", credit),
    ]);
    let other = Element::new("other_details").children([
        Element::text("username", user.username.as_str()),
        Element::text("first_name", u("first_name")),
        Element::text("surname", u("last_name")),
        Element::text("personalid", u("clientid")),
        Element::text("agreement_number", u("agreement_number")),
        Element::text("agreement_date", u("agreement_date")),
        Element::text("taxation_country", names.taxation_country.as_str()),
        Element::text("vat_reg_number", u("vat_number")),
        Element::text("vat_percent", vat_percent),
    ]);
    let a = |col: &str| text(address, col);
    // MOR's `reg_country` is the address's county; the country is `reg_direction`.
    let registration = Element::new("registration").children([
        Element::text("reg_address", a("address")),
        Element::text("reg_postcode", a("postcode")),
        Element::text("reg_city", a("city")),
        Element::text("reg_country", a("county")),
        Element::text("reg_state", a("state")),
        Element::text("reg_direction", names.reg_direction.as_str()),
        Element::text("reg_phone", a("phone")),
        Element::text("reg_mobile", a("mob_phone")),
        Element::text("reg_fax", a("fax")),
        Element::text("reg_email", a("email")),
    ]);
    Element::new("page").children([
        Element::text("pagename", words::PAGENAME),
        Element::text("language", words::LANGUAGE),
        Element::text("userid", user.id.to_string()),
        Element::new("details").children([main, other, registration]),
    ])
}
