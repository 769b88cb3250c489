//! morapi: a MOR-compatible billing API server.
//!
//! The way through, from the wire to the database:
//! [`http`] (paths, bodies, XML) → [`update`] (the order of checks, using [`auth`] and the
//! [`catalogue`]) → [`storage`] (one [`storage::Repo`] trait, one implementation per engine).
//! The read methods take the same way through [`read`] instead of [`update`].
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod auth;
pub mod catalogue;
pub mod cli;
pub mod domain;
pub mod http;
pub mod params;
pub mod password;
pub mod read;
pub mod server;
pub mod settings;
pub mod storage;
pub mod update;
pub mod values;
