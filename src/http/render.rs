//! The success documents of the API methods, written from the domain's answers. Element names
//! and layout are MOR's (docs/contract.md §7); the values come ready from the views.

use super::xml::{self, Element};
use crate::catalogue::errors::{USER_DELETED, USER_UPDATED, action as act, details as words, registration};
use crate::domain::{Answer, DetailsView, RawView, Registration, UserSummary};

/// The XML document of an answer.
pub fn answer(answer: &Answer) -> String {
    match answer {
        Answer::Updated => xml::page_status(USER_UPDATED),
        Answer::Details(view) => details(view).document(),
        Answer::Raw(view) => raw(view).document(),
        Answer::Registered(r) => registered(r).document(),
        Answer::Users(users) => users_list(users).document(),
        Answer::Deleted => xml::page_status(USER_DELETED),
        Answer::LoggedIn { user_id } => action(act::LOGIN, act::OK, Some(*user_id), Some(act::LOGGED_IN)).document(),
        Answer::LoginFailed => login_failed(act::LOGIN_FAILED),
        Answer::LoggedOut { ok } => action(act::LOGOUT, if *ok { act::OK } else { act::FAILED }, None, None).document(),
    }
}

/// MOR's `<action>` document of `user_login` and `user_logout`: name, status, the user's id
/// (a successful login), the status message.
fn action(name: &str, status: &str, user_id: Option<i64>, message: Option<&str>) -> Element {
    Element::new("action")
        .child(Element::text("name", name))
        .child(Element::text("status", status))
        .children(user_id.map(|id| Element::text("user_id", id.to_string())))
        .children(message.map(|m| Element::text("status_message", m)))
}

/// A failed `user_login` with its message (wrong credentials, a lockout's wait, a storage error).
pub fn login_failed(message: &str) -> String {
    action(act::LOGIN, act::FAILED, None, Some(message)).document()
}

fn registered(r: &Registration) -> Element {
    let settings = Element::new("user_device_settings")
        .child(Element::text("user_id", r.user_id.to_string()))
        .child(Element::text("device_type", r.device_type.as_str()))
        .child(Element::text("device_id", r.device_id.to_string()))
        .children(r.caller_id.as_deref().map(|c| Element::text("caller_id", c)))
        .children([
            Element::text("username", r.username.as_str()),
            Element::text("password", r.password.as_str()),
            Element::text("pin", r.pin.as_str()),
            Element::text("server_ip", r.server_ip.as_str()),
            Element::text("registration_notice", registration::NOTICE),
        ]);
    Element::new("page")
        .child(Element::new("status").child(Element::text("success", registration::SUCCESSFUL)))
        .child(settings)
}

fn users_list(users: &[UserSummary]) -> Element {
    let users = users.iter().map(|u| {
        Element::new("user").children([
            Element::text("id", u.id.to_string()),
            Element::text("username", u.username.as_str()),
            Element::text("first_name", u.first_name.as_str()),
            Element::text("last_name", u.last_name.as_str()),
            Element::text("balance", u.balance.as_str()),
            Element::text("blocked", u.blocked.to_string()),
            Element::text("lcr_id", u.lcr_id.to_string()),
            Element::text("tariff_id", u.tariff_id.to_string()),
            Element::text("owner_id", u.owner_id.to_string()),
            Element::text("usertype", u.usertype.as_str()),
            Element::text("hidden", u.hidden.to_string()),
        ])
    });
    Element::new("page").child(Element::new("status").child(Element::new("users").children(users)))
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

#[cfg(test)]
mod tests {
    use super::*;

    const DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

    #[test]
    fn action_documents_are_mors() {
        assert_eq!(
            answer(&Answer::LoggedIn { user_id: 5 }),
            format!(
                "{DECL}<action>\n  <name>login</name>\n  <status>ok</status>\n  <user_id>5</user_id>\n  \
                 <status_message>Successfully logged in</status_message>\n</action>\n"
            )
        );
        assert_eq!(
            answer(&Answer::LoginFailed),
            format!(
                "{DECL}<action>\n  <name>login</name>\n  <status>failed</status>\n  \
                 <status_message>Login failed</status_message>\n</action>\n"
            )
        );
        assert_eq!(
            answer(&Answer::LoggedOut { ok: false }),
            format!("{DECL}<action>\n  <name>logout</name>\n  <status>failed</status>\n</action>\n")
        );
    }

    #[test]
    fn registration_answers_the_caller_id_only_when_sent() {
        let r = Registration {
            user_id: 790,
            device_type: "SIP".into(),
            device_id: 4,
            caller_id: Some("<37060000001>".into()),
            username: "1004".into(),
            password: "aB3".into(),
            pin: "123456".into(),
            server_ip: String::new(),
        };
        let doc = answer(&Answer::Registered(Box::new(r.clone())));
        assert!(doc.contains("    <caller_id>&lt;37060000001&gt;</caller_id>\n    <username>1004</username>\n"));
        assert!(doc.contains("    <server_ip/>\n"));
        assert!(doc.contains("DEVICE. \nIn order to login"));
        let without = answer(&Answer::Registered(Box::new(Registration { caller_id: None, ..r })));
        assert!(!without.contains("caller_id"));
    }
}
