-- The schema of version 1 as morapi 8224bf0 (the last commit of version 1) created it on
-- SQLite (rendered from that commit's src/storage/schema.rs), which recorded no version.
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
CREATE TABLE IF NOT EXISTS conflines (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    value TEXT NOT NULL DEFAULT '',
    owner_id INTEGER NOT NULL DEFAULT 0,
    UNIQUE (owner_id, name)
);
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
CREATE INDEX IF NOT EXISTS index_users_on_owner_id ON users (owner_id);
CREATE INDEX IF NOT EXISTS index_audit_log_on_target_id ON audit_log (target_id);
CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT NOT NULL PRIMARY KEY);
-- A few rows of real data, as a version-1 morapi kept them: the admin (id 0) with its API key,
-- two users with addresses (john's e-mail is a list of two), and audit rows of version 1's
-- shape (no signed_with; old and new values never NULL).
INSERT INTO currencies (id, name, full_name, exchange_rate) VALUES (1, 'USD', 'United States dollar', '1');
INSERT INTO tariffs (id, name, purpose, owner_id) VALUES (1, 'Retail', 'user', 0);
INSERT INTO lcrs (id, name, user_id) VALUES (1, 'Primary', 0);
INSERT INTO addresses (id, direction_id, city, postcode, address, phone, email) VALUES
  (1, 0, 'Vilnius', 'LT-01100', 'Gedimino pr. 1', '+37052000123', 'john@example.com; Billing@Example.com'),
  (2, 0, 'Boston', '02108', '1 Beacon St', '+16175550789', 'jane@example.com');
INSERT INTO taxes (id, tax1_name, tax1_value) VALUES (1, 'VAT', '21'), (2, 'VAT', '0');
INSERT INTO users (id, username, usertype, owner_id, first_name, last_name, tariff_id, lcr_id, currency_id,
                   credit, address_id, tax_id, time_zone) VALUES
  (0, 'admin', 'admin', 0, 'System', 'Admin', 1, 1, 1, '-1', NULL, NULL, 'UTC'),
  (123, 'john', 'user', 0, 'John', 'Smith', 1, 1, 1, '12.5', 1, 1, 'Vilnius'),
  (789, 'jane', 'user', 0, 'Jane', 'Doe', 1, 1, 1, '100', 2, 2, 'UTC');
INSERT INTO devices (id, name, user_id) VALUES (1, 'john-sip', 123);
INSERT INTO conflines (name, value, owner_id) VALUES ('allow_api', '1', 0), ('api_secret_key', '456789', 0);
INSERT INTO audit_log (id, created_at, request_id, event, actor_id, actor_username, client_addr, endpoint,
                       target_id, field, old_value, new_value) VALUES
  (7, '2025-01-01T00:00:00.000000Z', 'req7', 'change', 0, 'admin', '127.0.0.1', 'user_details_update', 123,
   'credit', '0', '12.5'),
  (9, '2025-01-02T00:00:00.000000Z', 'req9', 'hash_refused', NULL, 'nobody', '127.0.0.1', 'user_details_update',
   NULL, '', '', 'Incorrect hash');
