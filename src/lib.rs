//! morapi: a MOR-compatible billing API server.
//!
//! The way through, from the wire to the database, in three hops:
//! [`http`] (paths, bodies, XML) → [`update`] / [`read`] (the order of checks, with [`auth`], the
//! [`domain`]'s typed entities and the [`catalogue`]) → [`storage`] (the request port, one SQL
//! implementation for every engine). The administration CLI ([`cli`]) reaches the same domain
//! rules and the storage's admin port. Imports only run down these layers, never back
//! (docs/architecture.md; `tests/architecture.rs` checks it).
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod auth;
pub mod catalogue;
pub mod cli;
pub mod domain;
pub mod http;
pub mod lifecycle;
pub mod params;
pub mod password;
pub mod read;
pub mod server;
pub mod settings;
pub mod storage;
pub mod telemetry;
pub mod tls;
pub mod update;
pub mod values;
