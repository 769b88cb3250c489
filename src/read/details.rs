//! `user_details_get`: MOR's documented `Personal_details` page, with values from the database.
//!
//! Amounts are shown as stored, with four decimals and the user's currency name (morapi keeps no
//! exchange rates per amount: the update stores what it is sent, and this shows it back). Names
//! of countries come from `directions`; an unset or unknown country is empty.

use crate::catalogue::errors::details as words;
use crate::domain::User;
use crate::domain::view::{AddressView, DetailsView};
use crate::storage::{Linked, Named, RequestStore, Result, Row, Value, text};
use crate::values::amount;

/// The page for `user`.
pub fn view(store: &mut dyn RequestStore, user: &User) -> Result<DetailsView> {
    let linked = |store: &mut dyn RequestStore, table: Linked, id: Option<i64>| match id {
        Some(id) => store.linked(table, id).map(Option::unwrap_or_default),
        None => Ok(Row::new()),
    };
    let address = linked(store, Linked::Address, user.address_id)?;
    let tax = linked(store, Linked::Tax, user.tax_id)?;
    let currency = name_of(store, Named::Currency, user.int("currency_id"))?;
    let taxation_country = name_of(store, Named::Direction, user.int("taxation_country"))?;
    let country = name_of(store, Named::Direction, crate::storage::int(&address, "direction_id"))?;
    let balance = shown_amount(user.columns.get("balance"));
    let credit =
        if user.credit_unlimited() { words::UNLIMITED.to_string() } else { shown_amount(user.columns.get("credit")) };
    let a = |col: &str| text(&address, col);
    Ok(DetailsView {
        user_id: user.id,
        account: if user.int("postpaid") == Some(1) { words::POSTPAID } else { words::PREPAID },
        balance,
        currency,
        credit,
        username: user.username.clone(),
        first_name: user.text("first_name"),
        surname: user.text("last_name"),
        personal_id: user.text("clientid"),
        agreement_number: user.text("agreement_number"),
        agreement_date: user.text("agreement_date"),
        taxation_country,
        vat_number: user.text("vat_number"),
        vat_percent: match tax.get("tax1_value") {
            Some(v) => amount::stored(&v.render()).map_or_else(|| v.render(), amount::canonical),
            None => String::new(),
        },
        address: AddressView {
            address: a("address"),
            postcode: a("postcode"),
            city: a("city"),
            county: a("county"),
            state: a("state"),
            country,
            phone: a("phone"),
            mobile: a("mob_phone"),
            fax: a("fax"),
            email: a("email"),
        },
    })
}

/// The `name` of a currency or country; empty when unset or missing.
fn name_of(store: &mut dyn RequestStore, table: Named, id: Option<i64>) -> Result<String> {
    match id.filter(|id| *id > 0) {
        Some(id) => Ok(store.name_of(table, id)?.unwrap_or_default()),
        None => Ok(String::new()),
    }
}

/// An amount with four decimals; a stored value that is not a number is shown as stored.
fn shown_amount(v: Option<&Value>) -> String {
    match v {
        Some(v) => amount::stored(&v.render()).map_or_else(|| v.render(), amount::four_decimals),
        None => amount::four_decimals(rust_decimal::Decimal::ZERO),
    }
}
