//! The success documents of the API methods, written from the domain's answers. Element names
//! and layout are MOR's (docs/contract.md §7); the values come ready from the views.

use super::xml::{self, Element};
use crate::catalogue::errors::{USER_UPDATED, details as words};
use crate::domain::{Answer, DetailsView, RawView};

/// The XML document of an answer.
pub fn answer(answer: &Answer) -> String {
    match answer {
        Answer::Updated => xml::page_status(USER_UPDATED),
        Answer::Details(view) => details(view).document(),
        Answer::Raw(view) => raw(view).document(),
    }
}

fn details(v: &DetailsView) -> Element {
    let main = Element::new("main_detail").children([
        Element::text("account", v.account),
        Element::text("balance", format!("{} {}", v.balance, v.currency)),
        Element::text("balance_number", v.balance.as_str()),
        Element::text("balance_currency", v.currency.as_str()),
        Element::text("credit", v.credit.as_str()),
    ]);
    let other = Element::new("other_details").children([
        Element::text("username", v.username.as_str()),
        Element::text("first_name", v.first_name.as_str()),
        Element::text("surname", v.surname.as_str()),
        Element::text("personalid", v.personal_id.as_str()),
        Element::text("agreement_number", v.agreement_number.as_str()),
        Element::text("agreement_date", v.agreement_date.as_str()),
        Element::text("taxation_country", v.taxation_country.as_str()),
        Element::text("vat_reg_number", v.vat_number.as_str()),
        Element::text("vat_percent", v.vat_percent.as_str()),
    ]);
    let a = &v.address;
    let registration = Element::new("registration").children([
        Element::text("reg_address", a.address.as_str()),
        Element::text("reg_postcode", a.postcode.as_str()),
        Element::text("reg_city", a.city.as_str()),
        Element::text("reg_country", a.county.as_str()),
        Element::text("reg_state", a.state.as_str()),
        Element::text("reg_direction", a.country.as_str()),
        Element::text("reg_phone", a.phone.as_str()),
        Element::text("reg_mobile", a.mobile.as_str()),
        Element::text("reg_fax", a.fax.as_str()),
        Element::text("reg_email", a.email.as_str()),
    ]);
    Element::new("page").children([
        Element::text("pagename", words::PAGENAME),
        Element::text("language", words::LANGUAGE),
        Element::text("userid", v.user_id.to_string()),
        Element::new("details").children([main, other, registration]),
    ])
}

fn raw(v: &RawView) -> Element {
    let values = v.values.iter().map(|(name, value)| Element::text(*name, value.as_str()));
    Element::new("page")
        .child(Element::new("user").child(Element::text("user_id", v.user_id.to_string())).children(values))
}
