-- morapi schema, version 1. MOR's table and column names wherever MOR has them.
-- Decimals are stored as canonical decimal text (SQLite has no exact decimal type).

CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password TEXT NOT NULL DEFAULT '',
    usertype TEXT NOT NULL DEFAULT 'user',
    owner_id INTEGER NOT NULL DEFAULT 0,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    company_name TEXT NOT NULL DEFAULT '',
    vat_number TEXT NOT NULL DEFAULT '',
    clientid TEXT NOT NULL DEFAULT '',
    accounting_number TEXT NOT NULL DEFAULT '',
    agreement_number TEXT NOT NULL DEFAULT '',
    agreement_date TEXT,
    language TEXT NOT NULL DEFAULT '',
    lcr_id INTEGER,
    tariff_id INTEGER,
    currency_id INTEGER NOT NULL DEFAULT 1,
    balance TEXT NOT NULL DEFAULT '0',
    credit TEXT NOT NULL DEFAULT '0',
    postpaid INTEGER NOT NULL DEFAULT 1,
    blocked INTEGER NOT NULL DEFAULT 0,
    hidden INTEGER NOT NULL DEFAULT 0,
    block_at TEXT DEFAULT '2008-01-01',
    block_at_conditional INTEGER NOT NULL DEFAULT 15,
    call_limit INTEGER NOT NULL DEFAULT 0,
    daily_credit_limit TEXT NOT NULL DEFAULT '0',
    warning_email_active INTEGER NOT NULL DEFAULT 0,
    warning_email_balance TEXT NOT NULL DEFAULT '0',
    warning_email_hour INTEGER NOT NULL DEFAULT -1,
    warning_balance_call INTEGER NOT NULL DEFAULT 0,
    warning_balance_sound_file_id INTEGER NOT NULL DEFAULT 0,
    hide_destination_end INTEGER NOT NULL DEFAULT -1,
    hide_non_answered_calls INTEGER NOT NULL DEFAULT 0,
    spy_device_id INTEGER NOT NULL DEFAULT 0,
    acc_group_id INTEGER NOT NULL DEFAULT 0,
    generate_invoice INTEGER NOT NULL DEFAULT 1,
    send_invoice_types INTEGER NOT NULL DEFAULT 0,
    invoice_zero_calls INTEGER NOT NULL DEFAULT 1,
    taxation_country INTEGER NOT NULL DEFAULT 0,
    quickforwards_rule_id INTEGER NOT NULL DEFAULT 0,
    recording_hdd_quota TEXT NOT NULL DEFAULT '0',
    recording_enabled INTEGER NOT NULL DEFAULT 0,
    recording_forced_enabled INTEGER NOT NULL DEFAULT 0,
    recordings_email TEXT NOT NULL DEFAULT '',
    cyberplat_active INTEGER NOT NULL DEFAULT 0,
    allow_loss_calls INTEGER NOT NULL DEFAULT 0,
    own_providers INTEGER NOT NULL DEFAULT 0,
    pbx_pool_id INTEGER NOT NULL DEFAULT 0,
    responsible_accountant_id INTEGER NOT NULL DEFAULT -1,
    comment TEXT,
    ignore_global_monitorings INTEGER NOT NULL DEFAULT 0,
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    allow_change_callerid INTEGER NOT NULL DEFAULT 0,
    enable_static_source_list TEXT NOT NULL DEFAULT 'no',
    static_source_list_id INTEGER NOT NULL DEFAULT 0,
    enable_static_list TEXT NOT NULL DEFAULT 'no',
    static_list_id INTEGER NOT NULL DEFAULT 0,
    two_fa_enabled INTEGER NOT NULL DEFAULT 0,
    max_devices INTEGER NOT NULL DEFAULT 0,
    address_id INTEGER,
    tax_id INTEGER
);
CREATE INDEX IF NOT EXISTS index_users_on_owner_id ON users (owner_id);

CREATE TABLE IF NOT EXISTS addresses (
    id INTEGER PRIMARY KEY,
    direction_id INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT '',
    county TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    postcode TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    mob_phone TEXT NOT NULL DEFAULT '',
    fax TEXT NOT NULL DEFAULT '',
    email TEXT
);
CREATE INDEX IF NOT EXISTS index_addresses_on_email ON addresses (email COLLATE NOCASE);

CREATE TABLE IF NOT EXISTS taxes (
    id INTEGER PRIMARY KEY,
    tax1_enabled INTEGER NOT NULL DEFAULT 1,
    tax2_enabled INTEGER NOT NULL DEFAULT 0,
    tax3_enabled INTEGER NOT NULL DEFAULT 0,
    tax4_enabled INTEGER NOT NULL DEFAULT 0,
    tax1_name TEXT NOT NULL DEFAULT 'VAT',
    tax2_name TEXT NOT NULL DEFAULT '',
    tax3_name TEXT NOT NULL DEFAULT '',
    tax4_name TEXT NOT NULL DEFAULT '',
    total_tax_name TEXT NOT NULL DEFAULT 'TAX',
    tax1_value TEXT NOT NULL DEFAULT '0',
    tax2_value TEXT NOT NULL DEFAULT '0',
    tax3_value TEXT NOT NULL DEFAULT '0',
    tax4_value TEXT NOT NULL DEFAULT '0',
    compound_tax INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE IF NOT EXISTS tariffs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    purpose TEXT NOT NULL DEFAULT 'user',
    owner_id INTEGER NOT NULL DEFAULT 0,
    currency TEXT NOT NULL DEFAULT 'USD'
);

CREATE TABLE IF NOT EXISTS lcrs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    user_id INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS currencies (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    full_name TEXT NOT NULL DEFAULT '',
    exchange_rate TEXT NOT NULL DEFAULT '1',
    active INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE IF NOT EXISTS directions (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    code TEXT NOT NULL DEFAULT ''
);

CREATE TABLE IF NOT EXISTS quickforwards_rules (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    user_id INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS pbx_pools (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    owner_id INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS number_pools (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    owner_id INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS ivr_sound_files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    user_id INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS devices (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    user_id INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS acc_groups (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    group_type TEXT NOT NULL DEFAULT 'accountant',
    only_view INTEGER NOT NULL DEFAULT 0,
    owner_id INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS acc_rights (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    right_type TEXT NOT NULL DEFAULT 'accountant'
);

CREATE TABLE IF NOT EXISTS acc_group_rights (
    id INTEGER PRIMARY KEY,
    acc_group_id INTEGER NOT NULL,
    acc_right_id INTEGER NOT NULL,
    value INTEGER NOT NULL DEFAULT 0,
    UNIQUE (acc_group_id, acc_right_id)
);

-- Settings per owner (0 = admin/global). Names are the project's (behaviour.md §7).
CREATE TABLE IF NOT EXISTS conflines (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    value TEXT NOT NULL DEFAULT '',
    owner_id INTEGER NOT NULL DEFAULT 0,
    UNIQUE (owner_id, name)
);

-- One row per changed field, refused hash or lockout. Written only with the change it records.
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    request_id TEXT NOT NULL,
    event TEXT NOT NULL,
    actor_id INTEGER,
    actor_username TEXT NOT NULL DEFAULT '',
    client_addr TEXT NOT NULL DEFAULT '',
    endpoint TEXT NOT NULL DEFAULT '',
    target_id INTEGER,
    field TEXT NOT NULL DEFAULT '',
    old_value TEXT NOT NULL DEFAULT '',
    new_value TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS index_audit_log_on_target_id ON audit_log (target_id);
