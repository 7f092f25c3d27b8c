//! The resetd binary as production runs it, in its own process, on throwaway (or the
//! configured) PostgreSQL and Redis servers from resetd-test-support.

mod backends;
mod bootstrap;
mod crash;
mod faults;
mod leaks;
mod logins;
mod pgbouncer;
mod rotation;
mod startup;
mod statements;
mod topologies;
