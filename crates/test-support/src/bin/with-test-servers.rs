//! `with-test-servers COMMAND [ARGS...]`: runs COMMAND with `DATABASE_URL`,
//! `RESETD_TEST_DATABASE_URL` and `RESETD_TEST_REDIS_URL` pointing at servers that answer: the
//! configured ones when they are reachable, else throwaway ones started from the installed
//! binaries under `target/`, which stop when this process ends. `make test` runs the test
//! suite through it, so a fresh machine needs no server running (only the packages
//! installed; without them it stops at once with one line naming them).

use std::process::Command;

fn main() {
    let mut args = std::env::args_os().skip(1).skip_while(|a| a == "--");
    let Some(program) = args.next() else {
        eprintln!("usage: with-test-servers COMMAND [ARGS...]");
        std::process::exit(2);
    };
    let servers = std::panic::catch_unwind(resetd_test_support::ensure_env);
    if let Err(why) = servers {
        let text = why
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| why.downcast_ref::<&str>().copied())
            .unwrap_or("could not start the test servers");
        eprintln!("with-test-servers: {}", text.lines().next().unwrap_or(text));
        std::process::exit(1);
    }
    let status = Command::new(&program).args(args).status();
    match status {
        Ok(s) => std::process::exit(s.code().unwrap_or(1)),
        Err(e) => {
            eprintln!("with-test-servers: cannot run {}: {e}", program.to_string_lossy());
            std::process::exit(127);
        }
    }
}
