//! Three `resetd serve` processes (the real binary, production profile) on one PostgreSQL and
//! one Redis topology, with requests spread over them: every cross-process guarantee, on a
//! single Redis and on a three-master Redis Cluster started here ([`guarantees`]), and around a
//! Sentinel failover and a Redis Cluster master's death in the middle of the traffic
//! ([`failover`]).

mod failover;
mod guarantees;
mod outage;

use std::path::Path;

use resetd_server::{Profile, Settings};
use resetd_test_support::redis_topology::{RedisCluster, RedisSentinel};
use resetd_test_support::{shared_postgres_url, ResetdProcess};
use serde_json::{json, Value};

use crate::backends::{as_refs, env, fresh_database, login, TOKEN_KEY};
use crate::leaks::SmsCatcher;

/// The Redis the processes share.
pub(crate) enum Topology {
    Standalone(String),
    /// Its seed nodes.
    Cluster(String),
    /// The seed nodes of a cluster whose masters have a replica each, which every guarded
    /// write waits for (`redis.wait_replicas = 1`).
    ReplicatedCluster(String),
    /// The sentinels' URLs and the name they know the master by.
    Sentinel {
        urls: String,
        master: String,
    },
}

impl Topology {
    /// The sentinels of `group`, every guarded write acknowledged by a replica.
    pub fn sentinel(group: &RedisSentinel) -> Self {
        Self::Sentinel { urls: group.sentinel_urls(), master: group.master_name().to_owned() }
    }

    /// The `RESETD__REDIS__*` settings that point resetd at it.
    fn env(&self) -> Vec<(String, String)> {
        let pairs: Vec<(&str, String)> = match self {
            Self::Standalone(url) => vec![("URL", url.clone())],
            Self::Cluster(seeds) => vec![("MODE", "cluster".into()), ("URL", seeds.clone())],
            Self::ReplicatedCluster(seeds) => vec![
                ("MODE", "cluster".into()),
                ("URL", seeds.clone()),
                ("WAIT_REPLICAS", "1".into()),
                ("WAIT_TIMEOUT_MS", "900".into()),
            ],
            Self::Sentinel { urls, master } => vec![
                ("MODE", "sentinel".into()),
                ("URL", urls.clone()),
                ("SENTINEL_MASTER", master.clone()),
                ("WAIT_REPLICAS", "1".into()),
                ("WAIT_TIMEOUT_MS", "900".into()),
            ],
        };
        pairs.into_iter().map(|(k, v)| (format!("RESETD__REDIS__{k}"), v)).collect()
    }

    /// `cmd` on a connection of the test's own (reading or ending one counter).
    fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> T {
        let open = |url: &str| redis::Client::open(url).unwrap().get_connection().unwrap();
        match self {
            Self::Standalone(url) => cmd.query(&mut open(url)),
            Self::Sentinel { urls, master } => {
                let sentinel = urls.split(',').next().unwrap();
                let ask = redis::cmd("SENTINEL").arg("get-master-addr-by-name").arg(master).to_owned();
                let (host, port): (String, u16) = ask.query(&mut open(sentinel)).unwrap();
                cmd.query(&mut open(&format!("redis://{host}:{port}")))
            }
            Self::Cluster(seeds) | Self::ReplicatedCluster(seeds) => {
                let seeds: Vec<&str> = seeds.split(',').collect();
                cmd.query(&mut redis::cluster::ClusterClient::new(seeds).unwrap().get_connection().unwrap())
            }
        }
        .unwrap()
    }
}

/// Three processes and what the checks need: an operator (the use cases in this process, for
/// set-up), an administrator's session, a CIAM web client and the SMS gateway.
pub(crate) struct Stack {
    pub topology: Topology,
    pub bases: Vec<String>,
    pub ops: resetd_app::App,
    pub admin: String,
    pub web: (String, String),
    pub spa: String,
    pub sms: SmsCatcher,
    pub prefix: String,
    pub http: reqwest::Client,
    _processes: Vec<ResetdProcess>,
}

/// Limits that would stop a test sending everything from 127.0.0.1 are raised; the ones under
/// test are made small (a 2 s cooldown, 3 sends a day, 8 guesses per account, a 2 s client
/// cache), the rest are production's.
const TEST_LIMITS: [(&str, &str); 9] = [
    ("RESETD__LIMITS__PASSWORD_CHANGES_PER_IP_PER_MINUTE", "100000"),
    ("RESETD__LIMITS__TOKEN_PER_IP_PER_MINUTE", "100000"),
    ("RESETD__LIMITS__LOGIN_PER_IP_PER_MINUTE", "100000"),
    ("RESETD__OTP__PER_IP_PER_MINUTE", "100000"),
    ("RESETD__OTP__ACCOUNT_GUESSES_PER_DAY", "8"),
    ("RESETD__OTP__DESTINATION_COOLDOWN_SECS", "2"),
    ("RESETD__OTP__DESTINATION_DAILY_LIMIT", "3"),
    ("RESETD__DATABASE__CLIENT_CACHE_TTL_SECS", "2"),
    ("RESETD__OIDC__ISSUER", "https://id.example.test"),
];

impl Stack {
    pub async fn start(topology: Topology) -> Stack {
        let database = fresh_database(&shared_postgres_url()).await;
        let prefix = resetd_ports::testkit::unique("topo:") + ":";
        let sms = SmsCatcher::start();
        let mut envs = env(&database, "", &prefix);
        envs.extend(topology.env());
        envs.extend(TEST_LIMITS.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        envs.push(("RESETD__MAIL__ENABLED".into(), "false".into()));
        envs.push(("RESETD__SMS__WEBHOOK_URL".into(), format!("http://127.0.0.1:{}/sms", sms.port)));
        let processes: Vec<ResetdProcess> = (0..3).map(|_| ResetdProcess::start(&as_refs(&envs))).collect();
        let bases: Vec<String> = processes.iter().map(|p| p.base_url().to_owned()).collect();
        let ops = operator(&database, &prefix, &envs).await;
        let policy = || resetd_app::bootstrap::ClientPolicy::Default;
        let web = ops.bootstrap.create_client("web", "topology", policy()).await.unwrap();
        let web = (web.client_id.as_str().to_owned(), web.client_secret.unwrap().expose().to_owned());
        let spa = ops.bootstrap.create_client("spa", "topology-spa", policy()).await.unwrap().client_id;
        let creds = ops.bootstrap.create_api_credentials("topology-admin@example.com", true).await.unwrap();
        let admin = login(&bases[0], creds.client_id.as_str(), creds.client_secret.expose()).await;
        Stack {
            topology,
            bases,
            ops,
            admin,
            web,
            spa: spa.as_str().to_owned(),
            sms,
            prefix,
            http: reqwest::Client::new(),
            _processes: processes,
        }
    }

    /// The base URL of process `i % 3`.
    pub fn base(&self, i: usize) -> &str {
        &self.bases[i % self.bases.len()]
    }

    /// A CIAM call as the web client through process `i`: the status and the body.
    pub async fn ciam(&self, i: usize, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base(i)))
            .basic_auth(&self.web.0, Some(&self.web.1))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Sends a reset code to `phone` through process `i`: the `otp_token` and the code.
    pub async fn send_code(&self, i: usize, phone: &str) -> (String, String) {
        let (status, body) =
            self.ciam(i, "/otp/send", &json!({"usage": "reset_password", "phone_number": phone})).await;
        assert_eq!(status, 200, "{body}");
        (body["otp_token"].as_str().unwrap().to_owned(), self.sms.code_for(phone).await)
    }

    /// A user with `phone` and a password; its id.
    pub async fn user(&self, email: &str, phone: Option<&str>) -> String {
        let id = self.ops.bootstrap.create_user(email, phone, Some(PASSWORD.into()), None).await.unwrap();
        id.to_string()
    }

    /// The value of the rate-limit window `key` (as the use cases name it), 0 when absent.
    pub fn window(&self, key: &str) -> u32 {
        let count: Option<String> = self.topology.query(redis::cmd("GET").arg(self.window_key(key)));
        count.map_or(0, |v| v.parse().unwrap())
    }

    /// The attempts left on the code sent with `otp_token` (0 once the challenge is gone).
    pub fn attempts_left(&self, otp_token: &str) -> u32 {
        let key = resetd_domain::keyed::TokenKey::new(TOKEN_KEY.as_bytes().to_vec()).unwrap();
        let digest = resetd_domain::otp::OtpToken::parse(otp_token).unwrap().digest(&key);
        let hash = format!("{}{{otp:{}}}:c", self.prefix, digest.to_hex());
        let left: Option<String> = self.topology.query(redis::cmd("HGET").arg(hash).arg("attempts"));
        left.map_or(0, |n| n.parse().unwrap())
    }

    /// Ends the rate-limit window `key`.
    pub fn end_window(&self, key: &str) {
        let _: i64 = self.topology.query(redis::cmd("DEL").arg(self.window_key(key)));
    }

    fn window_key(&self, key: &str) -> String {
        format!("{}rl:{{{key}}}", self.prefix)
    }
}

/// Every user's first password.
pub(crate) const PASSWORD: &str = "Old-Zeppelin-42";

/// The reset body of a code sent to `phone`.
pub(crate) fn reset_body(phone: &str, token: &str, code: &str, password: &str) -> Value {
    json!({"password": password, "phone_number": phone, "phone_number_otp_token": token, "phone_number_otp": code})
}

/// A six-digit code other than `code`.
pub(crate) fn wrong(code: &str, n: usize) -> String {
    let candidate = format!("{:06}", (code.parse::<usize>().unwrap() + 1 + n) % 1_000_000);
    assert_ne!(candidate, code);
    candidate
}

/// The use cases in this process on the same stores, configured from the processes' own
/// environment (the operator's `resetd admin …`).
async fn operator(database: &str, prefix: &str, envs: &[(String, String)]) -> resetd_app::App {
    use resetd_server::settings::{RedisMode, SentinelTlsSetting};
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    let mut s = Settings::load(&config, Profile::Dev).unwrap();
    let get = |k: &str| envs.iter().rev().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    s.database.url = database.to_owned().into();
    s.redis.url = get("RESETD__REDIS__URL").unwrap().into();
    s.redis.mode = match get("RESETD__REDIS__MODE").as_deref() {
        Some("cluster") => RedisMode::Cluster,
        Some("sentinel") => RedisMode::Sentinel,
        _ => RedisMode::Standalone,
    };
    s.redis.sentinel_master = get("RESETD__REDIS__SENTINEL_MASTER").unwrap_or_default();
    s.redis.sentinel_tls = SentinelTlsSetting::Same;
    s.redis.key_prefix = prefix.to_owned();
    s.security.token_key = TOKEN_KEY.clone().into();
    s.argon2.memory_kib = 19_456;
    resetd_server::build_default(&s).await.unwrap().app
}

/// Every answer of a parallel burst: none may be a server error other than 503.
pub(crate) fn no_server_errors(statuses: &[u16]) {
    assert!(statuses.iter().all(|s| *s < 500 || *s == 503), "a 5xx other than 503: {statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_guarantee_holds_across_three_processes_on_one_redis() {
    let stack = Stack::start(Topology::Standalone(resetd_test_support::shared_redis_url())).await;
    guarantees::all(&stack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_guarantee_holds_across_three_processes_on_redis_cluster() {
    let cluster = RedisCluster::start();
    let stack = Stack::start(Topology::Cluster(cluster.seeds())).await;
    guarantees::all(&stack).await;
}
