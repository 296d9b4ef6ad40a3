//! Errors of the use cases. The HTTP edge maps each variant to one status code.

use shop_domain::{CartRuleError, Version};

/// Any error a storage adapter may pass through, boxed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Storage failed for a reason the caller cannot fix.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The storage cannot be reached now (connection refused, pool timed out);
    /// retrying later may work.
    #[error("the storage is unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else: a bug, a broken schema, corrupt data.
    #[error("the storage failed")]
    Internal(#[source] BoxError),
}

/// Why a catalog operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ProductError {
    /// No product has the given id.
    #[error("product not found")]
    NotFound,
    /// The storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why a cart operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CartError {
    /// No cart has the given id.
    #[error("cart not found")]
    CartNotFound,
    /// The change names a product the catalog does not hold.
    #[error("product not found")]
    ProductNotFound,
    /// The cart's rules refuse the change (line missing, cap exceeded).
    #[error(transparent)]
    Rule(#[from] CartRuleError),
    /// The caller expected another version (`If-Match`); nothing changed.
    #[error("the cart is at version {}, not the expected one", current.0)]
    VersionMismatch {
        /// The cart's actual version.
        current: Version,
    },
    /// The storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}
