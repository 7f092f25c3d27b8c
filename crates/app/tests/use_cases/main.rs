//! Mocked-port unit tests of the use cases: which ports are called, in which order, and how
//! each outcome maps to an error. Storage behaviour itself is covered by the contract suite.

mod bootstrap;
mod breached;
mod ciam_account;
mod ciam_login;
mod ciam_reset;
mod ciam_send;
mod keys;
mod looker;
mod outbox;
mod redeem;
mod support;
