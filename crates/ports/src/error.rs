//! The failure every storage port shares: the backend could not do what was asked.

/// A boxed source error from a driver.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A storage backend failed. Its `Display` never contains data values; the source (kept for
/// logs) is the driver's error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached in time (connection refused, timeout, pool exhausted).
    #[error("the storage backend is unavailable")]
    Unavailable(#[source] BoxError),
    /// The backend answered with something unexpected (a failed query, a corrupt row).
    #[error("the storage backend failed")]
    Unexpected(#[source] BoxError),
}

impl StoreError {
    /// Wraps a driver error as [`Self::Unavailable`]: the backend could not answer in time.
    pub fn unavailable(e: impl Into<BoxError>) -> Self {
        Self::Unavailable(e.into())
    }

    /// Wraps a driver error as [`Self::Unexpected`]: the backend answered, but not as it should.
    pub fn unexpected(e: impl Into<BoxError>) -> Self {
        Self::Unexpected(e.into())
    }

    /// A corrupt stored value (a row that no longer parses into its domain type).
    pub fn corrupt(what: &'static str) -> Self {
        Self::Unexpected(format!("corrupt stored value: {what}").into())
    }
}
