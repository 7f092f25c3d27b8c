//! End-to-end tests: the real router and adapters on a real socket, a fresh PostgreSQL
//! database per test, a unique Redis prefix per test, and an SMTP sink per test process.

mod breached;
mod channels;
mod ciam;
mod ciam_attack;
mod deadline;
mod dev_profile;
mod headers;
use resetd_e2e::helpers;
mod history;
mod limits;
mod login;
mod login_session;
mod looker;
mod looker_errors;
mod metrics;
mod openapi;
mod outstanding;
mod page;
mod proxies;
mod roles;
mod sdk;
mod status;
