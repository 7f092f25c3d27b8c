//! [`BreachedPasswords`] over HTTP: a k-anonymity range API (`GET {base}{prefix}` answers
//! `SUFFIX:COUNT` lines, as api.pwnedpasswords.com/range/ does). Only the five-digit prefix
//! the use case passes is sent.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::Url;
use resetd_ports::breached::BreachedPasswords;
use resetd_ports::StoreError;

/// Why a [`RangeApi`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RangeApiError {
    /// The base URL is not an `http(s)` URL.
    #[error("breached.api_url is not a valid http(s) URL")]
    Url,
    /// reqwest could not build the HTTP client.
    #[error("the breached-password HTTP client could not be built")]
    Client(#[source] reqwest::Error),
}

/// A k-anonymity range API of breached passwords.
#[derive(Debug, Clone)]
pub struct RangeApi {
    client: reqwest::Client,
    base: String,
    timeout: Duration,
}

impl RangeApi {
    /// A client of the range API at `base` (the prefix is appended to it as it is), each
    /// lookup bounded by `timeout` and by the request's backend budget.
    ///
    /// # Errors
    /// [`RangeApiError`] for a base that is not `http(s)`, or a client reqwest cannot build.
    pub fn new(base: &str, timeout: Duration) -> Result<Self, RangeApiError> {
        let url = Url::parse(base).map_err(|_| RangeApiError::Url)?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(RangeApiError::Url);
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(RangeApiError::Client)?;
        // The prefix is appended as a path segment: `…/range` and `…/range/` mean the same.
        let base = if base.ends_with('/') { base.to_owned() } else { format!("{base}/") };
        Ok(Self { client, base, timeout })
    }
}

/// The suffixes seen at least once, from the range's `SUFFIX:COUNT` lines.
fn suffixes(body: &str) -> Result<Vec<String>, StoreError> {
    let mut seen = Vec::new();
    for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (suffix, count) = line.split_once(':').ok_or_else(|| StoreError::corrupt("a range line"))?;
        let count: u64 = count.trim().parse().map_err(|_| StoreError::corrupt("a range count"))?;
        if suffix.len() != 35 || !suffix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::corrupt("a range suffix"));
        }
        // A padded answer lists made-up suffixes seen zero times.
        if count > 0 {
            seen.push(suffix.to_ascii_uppercase());
        }
    }
    Ok(seen)
}

#[async_trait]
impl BreachedPasswords for RangeApi {
    async fn range(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let url = format!("{}{prefix}", self.base);
        let ask = async {
            let answer = self.client.get(&url).header("Add-Padding", "true").send().await?;
            answer.error_for_status()?.text().await
        };
        let answered = resetd_ports::budget::call(self.timeout, ask)
            .await
            .ok_or_else(|| StoreError::unavailable("the breached-password service did not answer in time"))?;
        // The URL holds the prefix, which narrows the password: it stays out of the error (and
        // so out of every log line).
        let body = answered.map_err(|e| {
            let refused = e.status().is_some_and(|s| s.is_client_error());
            let e = e.without_url();
            if refused {
                StoreError::unexpected(e) // a wrong `breached.api_url`, most likely
            } else {
                StoreError::unavailable(e)
            }
        })?;
        suffixes(&body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_seen_at_least_once_are_kept_upper_case() {
        let body = "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n1e4c9b93f3f0682250b6cf8331b7ee68fd8:9545824\r\n\
                    011053FD0102E94D6AE2F8B83D76FAF94F6:0\r\n";
        assert_eq!(
            suffixes(body).unwrap(),
            ["0018A45C4D1DEF81644B54AB7F969B88D65", "1E4C9B93F3F0682250B6CF8331B7EE68FD8"]
        );
    }

    #[test]
    fn an_unreadable_answer_is_unexpected() {
        for body in ["not a range", "0018A45C4D1DEF81644B54AB7F969B88D65:x", "ABC:1"] {
            assert!(matches!(suffixes(body), Err(StoreError::Unexpected(_))), "{body}");
        }
    }

    #[test]
    fn only_http_urls_are_accepted() {
        assert!(RangeApi::new("https://api.pwnedpasswords.com/range/", Duration::from_secs(1)).is_ok());
        assert!(matches!(RangeApi::new("ftp://example.com/", Duration::from_secs(1)), Err(RangeApiError::Url)));
    }
}
