//! Hot paths of the domain: token generation and hashing, OTP verification, the policy
//! check and one argon2id hash at the default (production) parameters.

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion};
use resetd_domain::client::ClientId;
use resetd_domain::keyed::TokenKey;
use resetd_domain::otp::{OtpBinding, OtpChallenge, OtpCode, OtpToken, OtpUsage, Recipient};
use resetd_domain::password::{Argon2Hasher, Argon2Params, Password};
use resetd_domain::policy::{PasswordPolicy, PolicyContext};
use resetd_domain::reset_token::ResetToken;
use resetd_domain::user::Email;

fn benches(c: &mut Criterion) {
    let mut rng = rand::rngs::OsRng;
    let key = TokenKey::generate(&mut rng);

    c.bench_function("reset_token/generate_and_digest", |b| b.iter(|| ResetToken::generate(&mut rng).digest(&key)));

    let token = OtpToken::generate(&mut rng);
    let token_digest = token.digest(&key);
    let code = OtpCode::generate(&mut rng, 6);
    let now = Utc::now();
    let binding = OtpBinding {
        client_id: ClientId::parse("bench").unwrap_or_else(|_| unreachable!()),
        usage: OtpUsage::ResetPassword,
        recipient: Recipient::Email(Email::parse("ada@example.com").unwrap_or_else(|_| unreachable!())),
        generation: Some(0),
    };
    let challenge = OtpChallenge {
        token: token_digest,
        code: code.digest(&key, &token_digest),
        binding: binding.clone(),
        attempts_left: 5,
        code_expires_at: now + chrono::Duration::seconds(60),
        expires_at: now + chrono::Duration::seconds(300),
    };
    c.bench_function("otp/digest_and_judge", |b| {
        b.iter(|| {
            let t = token.digest(&key);
            challenge.judge(&code.digest(&key, &t), &binding, now)
        })
    });

    let policy = PasswordPolicy::default();
    let password = Password::new("Tr4vel-by-Zeppelin".to_owned()).unwrap_or_else(|_| unreachable!());
    c.bench_function("policy/check", |b| b.iter(|| policy.check(&password, &PolicyContext::default())));

    let hasher = Argon2Hasher::new(Argon2Params::default()).unwrap_or_else(|_| unreachable!());
    let mut group = c.benchmark_group("argon2id");
    group.sample_size(20);
    group.bench_function("hash_default_params", |b| b.iter(|| hasher.hash(&password, &mut rng)));
    group.finish();
}

criterion_group!(domain, benches);
criterion_main!(domain);
