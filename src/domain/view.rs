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
