-- The demo dataset of docs/contract.md §9. README examples and acceptance checks rely on these ids.
-- Every comment is unset (NULL) and bob's e-mail is empty (''), as MOR leaves them: the two are
-- different values to the audit trail.
INSERT INTO currencies (id, name, full_name, exchange_rate) VALUES
  (1, 'USD', 'United States dollar', '1'), (2, 'EUR', 'Euro', '0.92'), (3, 'GBP', 'Pound sterling', '0.79');
INSERT INTO directions (id, name, code) VALUES
  (1, 'Lithuania', 'LTU'), (2, 'United States', 'USA'), (3, 'United Kingdom', 'GBR'), (4, 'Germany', 'DEU');
INSERT INTO tariffs (id, name, purpose, owner_id) VALUES
  (1, 'Retail', 'user', 0), (2, 'Wholesale', 'user_wholesale', 0), (3, 'Provider', 'provider', 0),
  (4, 'Reseller retail', 'user', 200), (5, 'Retail premium', 'user', 0);
INSERT INTO lcrs (id, name, user_id) VALUES (1, 'Primary', 0), (2, 'Backup', 0), (3, 'Reseller LCR', 200);
INSERT INTO quickforwards_rules (id, name, user_id) VALUES
  (1, 'Office hours', 0), (3, 'Night forward', 0), (4, 'Reseller forward', 200);
INSERT INTO pbx_pools (id, name, owner_id) VALUES (1, 'Default pool', 0), (2, 'Reseller pool', 200);
INSERT INTO number_pools (id, name, owner_id) VALUES (1, 'Blocked numbers', 0), (2, 'Allowed numbers', 0);
INSERT INTO ivr_sound_files (id, path, user_id) VALUES (1, 'low_balance.wav', 0), (2, 'reseller_low_balance.wav', 200);
INSERT INTO acc_rights (id, name, right_type) VALUES
  (1, 'user_manage', 'accountant'), (2, 'user_create_opt_1', 'accountant'), (3, 'user_create_opt_2', 'accountant'),
  (4, 'user_create_opt_3', 'accountant'), (5, 'user_create_opt_4', 'accountant'), (6, 'user_create_opt_5', 'accountant'),
  (7, 'user_create_opt_6', 'accountant'), (8, 'user_create_opt_7', 'accountant'), (9, 'pbx_functions', 'reseller');
INSERT INTO acc_groups (id, name, group_type, only_view, owner_id) VALUES
  (1, 'Accountants', 'accountant', 0, 0), (2, 'Viewers', 'accountant', 0, 0), (3, 'Resellers', 'reseller', 0, 0);
INSERT INTO acc_group_rights (acc_group_id, acc_right_id, value) VALUES
  (1, 1, 2), (1, 2, 2), (1, 3, 2), (1, 4, 2), (1, 5, 2), (1, 6, 2), (1, 7, 2), (1, 8, 2),
  (2, 1, 1),
  (3, 9, 2);
INSERT INTO addresses (id, direction_id, city, postcode, address, phone, email) VALUES
  (1, 1, 'Vilnius', 'LT-01100', 'Gedimino pr. 1', '+37052000123', 'john@example.com'),
  (2, 2, 'Boston', '02108', '1 Beacon St', '+16175550789', 'jane@example.com'),
  (3, 3, 'London', 'EC1A 1AA', '10 Fleet St', '+442079460200', 'reseller@example.com'),
  (4, 3, 'London', 'EC1A 1AB', '12 Fleet St', '+442079460201', 'alice@example.com'),
  (5, 4, 'Berlin', '10115', 'Invalidenstr. 1', '+49305550202', '');
INSERT INTO taxes (id, tax1_name, tax1_value) VALUES (1, 'VAT', '21'), (2, 'VAT', '0'), (3, 'VAT', '20'), (4, 'VAT', '20'), (5, 'VAT', '19');
INSERT INTO users (id, username, usertype, owner_id, first_name, last_name, tariff_id, lcr_id, currency_id,
                   credit, address_id, tax_id, acc_group_id, time_zone, quickforwards_rule_id) VALUES
  (0, 'admin', 'admin', 0, 'System', 'Admin', 1, 1, 1, '-1', NULL, NULL, 0, 'UTC', 0),
  (123, 'john', 'user', 0, 'John', 'Smith', 1, 1, 1, '0', 1, 1, 0, 'Vilnius', 1),
  (789, 'jane', 'user', 0, 'Jane', 'Doe', 2, 1, 2, '100', 2, 2, 0, 'Eastern Time (US & Canada)', 0),
  (200, 'reseller', 'reseller', 0, 'Richard', 'Reseller', 5, 1, 1, '500', 3, 3, 3, 'London', 0),
  (201, 'alice', 'user', 200, 'Alice', 'Brown', 4, 3, 3, '0', 4, 4, 0, 'London', 4),
  (202, 'bob', 'user', 200, 'Bob', 'Green', 4, 3, 2, '25', 5, 5, 0, 'Berlin', 0),
  (300, 'accountant', 'accountant', 0, 'Anna', 'Accountant', NULL, NULL, 1, '0', NULL, NULL, 1, 'UTC', 0),
  (301, 'viewer', 'accountant', 0, 'Victor', 'Viewer', NULL, NULL, 1, '0', NULL, NULL, 2, 'UTC', 0);
UPDATE users SET lcr_id = 3 WHERE id = 200;
INSERT INTO devices (id, name, user_id) VALUES (1, 'john-sip', 123), (2, 'jane-sip', 789), (3, 'alice-sip', 201);
INSERT INTO conflines (name, value, owner_id) VALUES
  ('allow_api', '1', 0), ('api_secret_key', '456789', 0), ('allow_get_api', '0', 0),
  ('allow_api', '1', 200), ('api_secret_key', 'reseller-secret', 200);
