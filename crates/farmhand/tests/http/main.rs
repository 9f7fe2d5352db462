//! HTTP tests: the real server on a fresh database per test, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod api_contract;
mod audit;
mod auth;
mod authorization;
mod dispatch;
mod displays;
mod files;
mod fleet;
mod instances;
mod jobs;
mod limits;
mod members;
mod metrics;
mod organizations;
mod printing;
mod quotas;
mod security;
mod slicing;
mod tokens;
mod ui;
mod ui_admin;
mod ui_live;
mod ui_slicer;
mod ui_work;
