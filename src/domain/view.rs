//! What the read methods return: values already in the form the client sees them, without the
//! XML, which only [`crate::http`] writes.

/// `user_details_get`: MOR's `Personal_details` page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DetailsView {
    pub user_id: i64,
    /// `Postpaid` or `Prepaid`.
    pub account: &'static str,
    /// Four decimals.
    pub balance: String,
    pub currency: String,
    /// Four decimals, or `Unlimited`.
    pub credit: String,
    pub username: String,
    pub first_name: String,
    pub surname: String,
    pub personal_id: String,
    pub agreement_number: String,
    pub agreement_date: String,
    pub taxation_country: String,
    pub vat_number: String,
    pub vat_percent: String,
    pub address: AddressView,
}

/// The registration address of [`DetailsView`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressView {
    pub address: String,
    pub postcode: String,
    pub city: String,
    /// MOR's `reg_country` is the address's county.
    pub county: String,
    pub state: String,
    /// The country's name.
    pub country: String,
    pub phone: String,
    pub mobile: String,
    pub fax: String,
    pub email: String,
}

/// `user_details_raw_get`: every value the update can change, named and written as the update
/// accepts it back, in catalogue order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawView {
    pub user_id: i64,
    pub values: Vec<(&'static str, String)>,
}

/// `user_register`: what MOR answers about the user and device it created (`user_device_settings`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registration {
    pub user_id: i64,
    pub device_type: String,
    pub device_id: i64,
    /// `<digits>` as stored; answered only when `caller_id` was sent.
    pub caller_id: Option<String>,
    /// The device's SIP/IAX2 username (its extension).
    pub username: String,
    /// The device's generated secret, answered once, in clear, as MOR does.
    pub password: String,
    pub pin: String,
    /// `asterisk_server_ip` (may be empty).
    pub server_ip: String,
}

/// `users_get`: one user of the list, values as MOR prints them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSummary {
    pub id: i64,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    /// The stored decimal, shortest exact form with at least one digit after the point (`0.0`).
    pub balance: String,
    pub blocked: i64,
    /// 0 when unset (MOR's "none").
    pub lcr_id: i64,
    pub tariff_id: i64,
    pub owner_id: i64,
    pub usertype: String,
    pub hidden: i64,
}
