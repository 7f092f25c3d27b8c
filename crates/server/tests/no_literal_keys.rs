//! No token key is a literal in the repository: the compose file, the bench and the tests
//! generate theirs. The only key-like literals allowed are those production refuses.

use std::path::Path;
use std::process::Command;

use resetd_server::settings::DENIED_TOKEN_KEYS;

/// The values a line gives a token key: quoted strings, and what follows `=` or `: `.
fn values(line: &str) -> Vec<String> {
    let mut out: Vec<String> = line.split('"').skip(1).step_by(2).map(str::to_owned).collect();
    for sep in ["=", ": "] {
        if let Some((_, rest)) = line.split_once(sep) {
            let word: String =
                rest.trim().chars().take_while(|c| !c.is_whitespace() && *c != ',' && *c != ')').collect();
            out.push(word.trim_matches(['"', '\'']).to_owned());
        }
    }
    out
}

/// Whether `v` looks like a key someone typed: long, and not a variable, an expression, a
/// (generic) type or an environment variable's name.
fn key_like(v: &str) -> bool {
    let type_name = v.starts_with(|c: char| c.is_ascii_uppercase()) && v.chars().all(|c| c.is_ascii_alphanumeric());
    v.len() >= 12
        && !type_name
        && !v.chars().all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
        && !v.contains(['$', '(', '{', '.', ':', '/', '<'])
        && v.chars().all(|c| c.is_ascii_graphic())
}

#[test]
fn no_token_key_is_a_literal_outside_the_denylist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let listed = Command::new("git").arg("ls-files").current_dir(&root).output().expect("git ls-files");
    assert!(listed.status.success());
    let mut found = Vec::new();
    for file in String::from_utf8_lossy(&listed.stdout).lines() {
        let Ok(text) = std::fs::read_to_string(root.join(file)) else { continue };
        for (n, line) in text.lines().enumerate() {
            let lower = line.to_ascii_lowercase();
            if !(lower.contains("token_key") || lower.contains("tokenkey::new")) {
                continue;
            }
            for v in values(line) {
                if key_like(&v) && !DENIED_TOKEN_KEYS.contains(&v.as_str()) {
                    found.push(format!("{file}:{}: {v}", n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "key-like literals (generate keys; or add a published one to the denylist):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_finds_a_literal_key() {
    // Built at run time, so that these samples are not themselves lines the scan flags.
    let name = ["token", "_key"].concat();
    let sample = "an-example-secret-for-this-test";
    assert!(values(&format!("s.security.{name} = \"{sample}\".into();")).iter().any(|v| key_like(v)));
    let env = ["RESETD__SECURITY__", &name.to_uppercase()].concat();
    assert!(values(&format!("{env}: {sample}")).iter().any(|v| key_like(v)));
    assert!(!values(&format!("{env}: ${{RESETD_TOKEN_KEY:?}}")).iter().any(|v| key_like(v)));
    assert!(!values(&format!("{name} = \"\"")).iter().any(|v| key_like(v)), "empty is no key");
    assert!(!values(&format!("pub {name}s: Vec<SecretString>,")).iter().any(|v| key_like(v)), "a field's type");
}
