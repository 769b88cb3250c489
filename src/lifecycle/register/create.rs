//! Step 9: the address, the tax row, the user, his device and its caller ids, each with its
//! `create` audit row, in the transaction that checked them.

use super::Values;
use super::defaults::Defaults;
use crate::auth::gate::RequestInfo;
use crate::domain::audit::Actor;
use crate::domain::{Caller, Outcome, Registration, UserType};
use crate::params::Params;
use crate::settings::Setting;
use crate::storage::{RequestStore, Row, Table, Value, int, text};
use crate::values::{AuditTime, secrets};

/// Everything step 9 writes from.
pub struct Plan<'a> {
    pub owner: &'a Caller,
    pub params: &'a Params,
    pub values: &'a Values,
    pub defaults: &'a Defaults,
    pub info: &'a RequestInfo,
}

impl Plan<'_> {
    /// Creates the records and answers what MOR shows of them. `password_hash` is the
    /// Argon2id hash of `password`.
    pub fn create(&self, store: &mut dyn RequestStore, password_hash: &str) -> Outcome<Registration> {
        let (v, d) = (self.values, self.defaults);
        let now = AuditTime::now();

        let mut address: Vec<(&str, Value)> = vec![("direction_id", Value::Int(v.country_id))];
        address.extend(v.address_columns.iter().map(|(c, val)| (*c, val.clone())));
        address.push(("email", Value::from(v.email.as_str())));
        let address = store.create(Table::Addresses, &address)?;
        let tax_values: Vec<(&str, Value)> = d.tax.iter().map(|(c, val)| (*c, val.clone())).collect();
        let tax = store.create(Table::Taxes, &tax_values)?;

        let user_values = self.user_columns(store, id(&address), id(&tax), password_hash, now)?;
        let user = store.create(Table::Users, &user_values)?;
        let user_id = id(&user);

        let extension = d.extension.to_string();
        let caller_id = Some(self.params.get("caller_id").unwrap_or_default().trim())
            .filter(|c| !c.is_empty())
            .map(|c| format!("<{c}>"));
        let location = v.device_location_id.or(d.location_id).unwrap_or_default();
        let device = store.create(
            Table::Devices,
            &[
                ("name", extension.as_str().into()),
                ("user_id", Value::Int(user_id)),
                ("device_type", v.device_type.as_str().into()),
                ("extension", extension.as_str().into()),
                ("username", extension.as_str().into()),
                ("secret", secrets::device_secret().into()),
                ("pin", d.pin.as_str().into()),
                ("callerid", caller_id.clone().unwrap_or_default().into()),
                ("location_id", Value::Int(location)),
            ],
        )?;
        let device_id = id(&device);
        let mut callerids = Vec::new();
        for (cli, description) in &v.callerids {
            callerids.push(store.create(
                Table::Callerids,
                &[
                    ("cli", cli.as_str().into()),
                    ("device_id", Value::Int(device_id)),
                    ("description", (*description).into()),
                    ("added_at", now.stored().into()),
                ],
            )?);
        }

        let actor = Actor::api(self.owner, &self.info.request_id, &self.info.client_addr, &self.info.endpoint);
        let target = Some(user_id);
        let mut audit = vec![
            actor.created(Table::Users.name(), target, &user),
            actor.created(Table::Addresses.name(), target, &address),
            actor.created(Table::Taxes.name(), target, &tax),
            actor.created(Table::Devices.name(), target, &device),
        ];
        audit.extend(callerids.iter().map(|row| actor.created(Table::Callerids.name(), target, row)));
        store.insert_audit(&audit)?;

        Ok(Registration {
            user_id,
            device_type: v.device_type.clone(),
            device_id,
            caller_id,
            username: extension,
            password: text(&device, "secret"),
            pin: d.pin.clone(),
            server_ip: Setting::AsteriskServerIp.read(store, 0)?,
        })
    }

    /// The new user's columns: the owner's defaults, then what the request and the owner decide.
    fn user_columns(
        &self,
        store: &mut dyn RequestStore,
        address_id: i64,
        tax_id: i64,
        password_hash: &str,
        now: AuditTime,
    ) -> crate::storage::Result<Vec<(&'static str, Value)>> {
        let (v, d) = (self.values, self.defaults);
        let mut columns: Vec<(&'static str, Value)> = d.user.clone();
        let mut set = |column: &'static str, value: Value| match columns.iter_mut().find(|(c, _)| *c == column) {
            Some(slot) => slot.1 = value,
            None => columns.push((column, value)),
        };
        for (column, value) in &v.user_columns {
            set(column, value.clone());
        }
        set("username", v.username.as_str().into());
        set("usertype", v.usertype.unwrap_or(UserType::User).word().into());
        set("owner_id", Value::Int(self.owner.id));
        set("acc_group_id", Value::Int(v.acc_group_id));
        set("taxation_country", Value::Int(v.country_id));
        set("tariff_id", Value::Int(d.tariff_id));
        if let Some(lcr) = v.lcr_id.or(d.lcr_id) {
            set("lcr_id", Value::Int(lcr));
        }
        if let Some(currency) = v.currency_id {
            set("currency_id", Value::Int(currency));
        }
        if let Some(call_limit) = &v.call_limit {
            set("call_limit", call_limit.clone());
        }
        match &v.credit {
            Some(credit) => set("credit", credit.clone()),
            None => {
                if let Some((_, stored)) = d.user.iter().find(|(c, _)| *c == "credit") {
                    set("credit", super::credit(stored.clone()));
                }
            }
        }
        set("agreement_date", now.0.format("%Y-%m-%d").to_string().into());
        set("agreement_number", agreement_number(store)?.into());
        set("address_id", Value::Int(address_id));
        set("tax_id", Value::Int(tax_id));
        set("password", password_hash.into());
        Ok(columns)
    }
}

fn id(row: &Row) -> i64 {
    int(row, "id").unwrap_or_default()
}

/// The highest numeric agreement number + 1, zero-padded to `agreement_number_length`.
fn agreement_number(store: &mut dyn RequestStore) -> crate::storage::Result<String> {
    let width = usize::try_from(Setting::AgreementNumberLength.int(store, 0)?).unwrap_or(10);
    let next = store.highest_agreement_number()?.saturating_add(1);
    Ok(format!("{next:0width$}"))
}
