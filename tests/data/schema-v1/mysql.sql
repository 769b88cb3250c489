-- The schema of version 1 as morapi 8224bf0 (the last commit of version 1) created it on
-- MariaDB (rendered from that commit's src/storage/schema.rs, with the collation MariaDB got),
-- version 1 recorded. The admin's id 0 is an explicit id, not "next".
SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_AUTO_VALUE_ON_ZERO');
CREATE TABLE IF NOT EXISTS users (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    username VARCHAR(255) NOT NULL UNIQUE,
    password VARCHAR(255) NOT NULL DEFAULT '',
    usertype VARCHAR(255) NOT NULL DEFAULT 'user',
    owner_id BIGINT NOT NULL DEFAULT 0,
    first_name VARCHAR(255) NOT NULL DEFAULT '',
    last_name VARCHAR(255) NOT NULL DEFAULT '',
    company_name VARCHAR(255) NOT NULL DEFAULT '',
    vat_number VARCHAR(255) NOT NULL DEFAULT '',
    clientid VARCHAR(255) NOT NULL DEFAULT '',
    accounting_number VARCHAR(255) NOT NULL DEFAULT '',
    agreement_number VARCHAR(255) NOT NULL DEFAULT '',
    agreement_date DATE,
    language VARCHAR(255) NOT NULL DEFAULT '',
    lcr_id BIGINT,
    tariff_id BIGINT,
    currency_id BIGINT NOT NULL DEFAULT 1,
    balance DECIMAL(30,15) NOT NULL DEFAULT 0,
    credit DECIMAL(30,15) NOT NULL DEFAULT 0,
    postpaid BIGINT NOT NULL DEFAULT 1,
    blocked BIGINT NOT NULL DEFAULT 0,
    hidden BIGINT NOT NULL DEFAULT 0,
    block_at DATE DEFAULT '2008-01-01',
    block_at_conditional BIGINT NOT NULL DEFAULT 15,
    call_limit BIGINT NOT NULL DEFAULT 0,
    daily_credit_limit DECIMAL(30,15) NOT NULL DEFAULT 0,
    warning_email_active BIGINT NOT NULL DEFAULT 0,
    warning_email_balance DECIMAL(30,15) NOT NULL DEFAULT 0,
    warning_email_hour BIGINT NOT NULL DEFAULT -1,
    warning_balance_call BIGINT NOT NULL DEFAULT 0,
    warning_balance_sound_file_id BIGINT NOT NULL DEFAULT 0,
    hide_destination_end BIGINT NOT NULL DEFAULT -1,
    hide_non_answered_calls BIGINT NOT NULL DEFAULT 0,
    spy_device_id BIGINT NOT NULL DEFAULT 0,
    acc_group_id BIGINT NOT NULL DEFAULT 0,
    generate_invoice BIGINT NOT NULL DEFAULT 1,
    send_invoice_types BIGINT NOT NULL DEFAULT 0,
    invoice_zero_calls BIGINT NOT NULL DEFAULT 1,
    taxation_country BIGINT NOT NULL DEFAULT 0,
    quickforwards_rule_id BIGINT NOT NULL DEFAULT 0,
    recording_hdd_quota DECIMAL(30,15) NOT NULL DEFAULT 0,
    recording_enabled BIGINT NOT NULL DEFAULT 0,
    recording_forced_enabled BIGINT NOT NULL DEFAULT 0,
    recordings_email VARCHAR(255) NOT NULL DEFAULT '',
    cyberplat_active BIGINT NOT NULL DEFAULT 0,
    allow_loss_calls BIGINT NOT NULL DEFAULT 0,
    own_providers BIGINT NOT NULL DEFAULT 0,
    pbx_pool_id BIGINT NOT NULL DEFAULT 0,
    responsible_accountant_id BIGINT NOT NULL DEFAULT -1,
    comment MEDIUMTEXT,
    ignore_global_monitorings BIGINT NOT NULL DEFAULT 0,
    time_zone VARCHAR(255) NOT NULL DEFAULT 'UTC',
    allow_change_callerid BIGINT NOT NULL DEFAULT 0,
    enable_static_source_list VARCHAR(255) NOT NULL DEFAULT 'no',
    static_source_list_id BIGINT NOT NULL DEFAULT 0,
    enable_static_list VARCHAR(255) NOT NULL DEFAULT 'no',
    static_list_id BIGINT NOT NULL DEFAULT 0,
    two_fa_enabled BIGINT NOT NULL DEFAULT 0,
    max_devices BIGINT NOT NULL DEFAULT 0,
    address_id BIGINT,
    tax_id BIGINT,
    KEY index_users_on_owner_id (owner_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE TABLE IF NOT EXISTS addresses (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    direction_id BIGINT NOT NULL DEFAULT 0,
    state VARCHAR(255) NOT NULL DEFAULT '',
    county VARCHAR(255) NOT NULL DEFAULT '',
    city VARCHAR(255) NOT NULL DEFAULT '',
    postcode VARCHAR(255) NOT NULL DEFAULT '',
    address VARCHAR(255) NOT NULL DEFAULT '',
    phone VARCHAR(255) NOT NULL DEFAULT '',
    mob_phone VARCHAR(255) NOT NULL DEFAULT '',
    fax VARCHAR(255) NOT NULL DEFAULT '',
    email VARCHAR(255)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE TABLE IF NOT EXISTS taxes (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tax1_enabled BIGINT NOT NULL DEFAULT 1,
    tax2_enabled BIGINT NOT NULL DEFAULT 0,
    tax3_enabled BIGINT NOT NULL DEFAULT 0,
    tax4_enabled BIGINT NOT NULL DEFAULT 0,
    tax1_name VARCHAR(255) NOT NULL DEFAULT 'VAT',
    tax2_name VARCHAR(255) NOT NULL DEFAULT '',
    tax3_name VARCHAR(255) NOT NULL DEFAULT '',
    tax4_name VARCHAR(255) NOT NULL DEFAULT '',
    total_tax_name VARCHAR(255) NOT NULL DEFAULT 'TAX',
    tax1_value DECIMAL(30,15) NOT NULL DEFAULT 0,
    tax2_value DECIMAL(30,15) NOT NULL DEFAULT 0,
    tax3_value DECIMAL(30,15) NOT NULL DEFAULT 0,
    tax4_value DECIMAL(30,15) NOT NULL DEFAULT 0,
    compound_tax BIGINT NOT NULL DEFAULT 1
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE TABLE IF NOT EXISTS tariffs (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    purpose VARCHAR(255) NOT NULL DEFAULT 'user',
    owner_id BIGINT NOT NULL DEFAULT 0,
    currency VARCHAR(255) NOT NULL DEFAULT 'USD'
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE TABLE IF NOT EXISTS lcrs (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    user_id BIGINT NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE TABLE IF NOT EXISTS currencies (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) NOT NULL UNIQUE,
    full_name VARCHAR(255) NOT NULL DEFAULT '',
    exchange_rate DECIMAL(30,15) NOT NULL DEFAULT 1,
    active BIGINT NOT NULL DEFAULT 1
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE TABLE IF NOT EXISTS directions (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    code VARCHAR(255) NOT NULL DEFAULT ''
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE TABLE IF NOT EXISTS quickforwards_rules (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    user_id BIGINT NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE TABLE IF NOT EXISTS pbx_pools (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    owner_id BIGINT NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE TABLE IF NOT EXISTS number_pools (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    owner_id BIGINT NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE TABLE IF NOT EXISTS ivr_sound_files (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    path MEDIUMTEXT NOT NULL,
    user_id BIGINT NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE TABLE IF NOT EXISTS devices (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    user_id BIGINT NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE TABLE IF NOT EXISTS acc_groups (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    group_type VARCHAR(255) NOT NULL DEFAULT 'accountant',
    only_view BIGINT NOT NULL DEFAULT 0,
    owner_id BIGINT NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE TABLE IF NOT EXISTS acc_rights (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) NOT NULL UNIQUE,
    right_type VARCHAR(255) NOT NULL DEFAULT 'accountant'
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE TABLE IF NOT EXISTS acc_group_rights (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    acc_group_id BIGINT NOT NULL,
    acc_right_id BIGINT NOT NULL,
    value BIGINT NOT NULL DEFAULT 0,
    UNIQUE (acc_group_id, acc_right_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE TABLE IF NOT EXISTS conflines (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    value VARCHAR(255) NOT NULL DEFAULT '',
    owner_id BIGINT NOT NULL DEFAULT 0,
    UNIQUE (owner_id, name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE TABLE IF NOT EXISTS audit_log (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    created_at VARCHAR(255) NOT NULL,
    request_id VARCHAR(255) NOT NULL,
    event VARCHAR(255) NOT NULL,
    actor_id BIGINT,
    actor_username VARCHAR(255) NOT NULL DEFAULT '',
    client_addr VARCHAR(255) NOT NULL DEFAULT '',
    endpoint VARCHAR(255) NOT NULL DEFAULT '',
    target_id BIGINT,
    field VARCHAR(255) NOT NULL DEFAULT '',
    old_value MEDIUMTEXT NOT NULL,
    new_value MEDIUMTEXT NOT NULL,
    KEY index_audit_log_on_target_id (target_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT NOT NULL PRIMARY KEY) ENGINE=InnoDB;
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
INSERT INTO schema_migrations (version) VALUES (1);
