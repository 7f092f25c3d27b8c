//! End-to-end tests: the real router and adapters on a real socket, a fresh PostgreSQL
//! database per test, a unique Redis prefix per test, and the SMTP sink started by `make test`.

mod ciam;
mod ciam_attack;
mod helpers;
mod looker;
mod sdk;
