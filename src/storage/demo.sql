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
                   credit, address_id, tax_id, acc_group_id, time_zone, quickforwards_rule_id, uniquehash) VALUES
  (0, 'admin', 'admin', 0, 'System', 'Admin', 1, 1, 1, '-1', NULL, NULL, 0, 'UTC', 0, 'admhash234'),
  (123, 'john', 'user', 0, 'John', 'Smith', 1, 1, 1, '0', 1, 1, 0, 'Vilnius', 1, 'jhnhash234'),
  (789, 'jane', 'user', 0, 'Jane', 'Doe', 2, 1, 2, '100', 2, 2, 0, 'Eastern Time (US & Canada)', 0, 'jnehash234'),
  (200, 'reseller', 'reseller', 0, 'Richard', 'Reseller', 5, 1, 1, '500', 3, 3, 3, 'London', 0, 'reshash567'),
  (201, 'alice', 'user', 200, 'Alice', 'Brown', 4, 3, 3, '0', 4, 4, 0, 'London', 4, 'acehash234'),
  (202, 'bob', 'user', 200, 'Bob', 'Green', 4, 3, 2, '25', 5, 5, 0, 'Berlin', 0, 'bbbhash234'),
  (300, 'accountant', 'accountant', 0, 'Anna', 'Accountant', NULL, NULL, 1, '0', NULL, NULL, 1, 'UTC', 0, 'acchash234'),
  (301, 'viewer', 'accountant', 0, 'Victor', 'Viewer', NULL, NULL, 1, '0', NULL, NULL, 2, 'UTC', 0, 'vwrhash234');
-- Passwords (Argon2id): admin Admin1234, reseller Reseller123, john John12345, accountant Account123,
-- viewer Viewer123; jane, alice and bob have none.
UPDATE users SET password = '$argon2id$v=19$m=19456,t=2,p=1$pzODCcF2JdaoyFtnGVuTcw$QaqnQ0S/lcVP4Qwl+eFMmhsJaZcNTiA++HOyMUcq8Cw' WHERE id = 0;
UPDATE users SET password = '$argon2id$v=19$m=19456,t=2,p=1$B25q+dkcssKtlwnCaLJvPQ$xpBvHKTkTd5rIXsHqzcAdcR1acUvPBMkdjBcTHdswq4' WHERE id = 200;
UPDATE users SET password = '$argon2id$v=19$m=19456,t=2,p=1$ykq2UABEe0oV1eEphFP+VA$jnWkGILiayQP3dPYaC4Bc2d9n7WkiXiljps+QvwFXBU' WHERE id = 123;
UPDATE users SET password = '$argon2id$v=19$m=19456,t=2,p=1$RcwKUoxm7enw2/Xka8YX/A$FE7/kEbVGsCleyWZsB3r3kxEVxYI/7Ew4pdcSD5+xgg' WHERE id = 300;
UPDATE users SET password = '$argon2id$v=19$m=19456,t=2,p=1$DC/bQz/gSW+rLG3xp8EyjQ$oa2twXhub3ZxAHtyPEtNyx6++XGpnijRN5ZFa+1fUSs' WHERE id = 301;
UPDATE users SET lcr_id = 3 WHERE id = 200;
INSERT INTO locations (id, name, user_id) VALUES (1, 'Global', 0), (2, 'London office', 200);
INSERT INTO devices (id, name, user_id, device_type, extension, username, secret, pin, location_id) VALUES
  (1, 'john-sip', 123, 'SIP', '1001', '1001', 'jSip4Demo7Kx', '100001', 1),
  (2, 'jane-sip', 789, 'SIP', '1002', '1002', 'nSip5Demo8Ly', '100002', 1),
  (3, 'alice-sip', 201, 'SIP', '1003', '1003', 'aSip6Demo9Mz', '100003', 2);
INSERT INTO callerids (id, cli, device_id, description, added_at) VALUES (1, '37052000123', 1, 'Phone', '2026-01-01T00:00:00.000000Z');
INSERT INTO conflines (name, value, owner_id) VALUES
  ('allow_api', '1', 0), ('api_secret_key', '456789', 0), ('allow_get_api', '0', 0),
  ('allow_api', '1', 200), ('api_secret_key', 'reseller-secret', 200),
  ('allow_api_registration', '1', 0), ('asterisk_server_ip', '192.0.2.10', 0),
  ('default_user_tariff_id', '1', 0), ('default_user_lcr_id', '1', 0),
  ('default_user_tariff_id', '4', 200), ('default_device_location_id', '2', 200);
