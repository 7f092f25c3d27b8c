//! From Redis errors to [`StoreError`]: the only error this crate returns.

use redis::{ErrorKind, RedisError};
use resetd_ports::StoreError;

/// Unreachable, slow, or not serving right now: [`StoreError::Unavailable`]. Anything else (a
/// script error, a wrong type, a refused command): [`StoreError::Unexpected`].
pub(crate) fn map(e: RedisError) -> StoreError {
    if is_cut_off(&e) {
        return StoreError::unavailable(e);
    }
    // A redirection (`MOVED`, `ASK`) that reaches us is one the cluster client could not follow
    // within its retries: slots moving, as when a master died and its replica takes over.
    let unavailable = e.is_io_error()
        || e.is_cluster_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || matches!(
            e.kind(),
            ErrorKind::BusyLoadingError
                | ErrorKind::MasterDown
                | ErrorKind::ReadOnly
                | ErrorKind::ClusterConnectionNotFound
                | ErrorKind::MasterNameNotFoundBySentinel
                | ErrorKind::NoValidReplicasFoundBySentinel
        );
    if unavailable {
        StoreError::unavailable(e)
    } else {
        StoreError::unexpected(e)
    }
}

/// `NOREPLICAS`: a master configured with `min-replicas-to-write` that has too few replicas
/// (an old master cut off by a failover, or replicas down) refuses writes. An outage, not a
/// fault; with sentinels it is also a reason to ask them for the master again.
pub(crate) fn is_cut_off(e: &RedisError) -> bool {
    e.code() == Some("NOREPLICAS")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_failures_are_unavailable_the_rest_unexpected() {
        let refused = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(matches!(map(refused), StoreError::Unavailable(_)));
        let timed_out = RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut));
        assert!(matches!(map(timed_out), StoreError::Unavailable(_)));
        let loading = RedisError::from((ErrorKind::BusyLoadingError, "loading"));
        assert!(matches!(map(loading), StoreError::Unavailable(_)));
        let moved = RedisError::from((ErrorKind::Moved, "Moved", "12145 127.0.0.1:46123".to_owned()));
        assert!(matches!(map(moved), StoreError::Unavailable(_)), "a redirection not followed in time");
        let unknown = RedisError::from((ErrorKind::MasterNameNotFoundBySentinel, "no master"));
        assert!(matches!(map(unknown), StoreError::Unavailable(_)));
        let script = RedisError::from((ErrorKind::ResponseError, "script failed"));
        assert!(matches!(map(script), StoreError::Unexpected(_)));
    }
}
