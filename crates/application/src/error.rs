//! Errors of the use cases, one per operation where callers handle the
//! cases differently. The HTTP edge maps each variant to one status code.

use shop_domain::{AddRefused, LineNotFound, LineQuantityExceeded, TooManyLines, Version};

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

/// Why reading a cart failed.
#[derive(Debug, thiserror::Error)]
pub enum GetCartError {
    /// No cart has the given id.
    #[error("cart not found")]
    NotFound,
    /// The storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why a write to a cart failed, whatever the write: what every cart write
/// can meet. Writes with cases of their own wrap it ([`AddItemError`] …).
#[derive(Debug, thiserror::Error)]
pub enum CartWriteError {
    /// No cart has the given id.
    #[error("cart not found")]
    CartNotFound,
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

/// Why adding units of a product failed.
#[derive(Debug, thiserror::Error)]
pub enum AddItemError {
    /// The cart is missing, at another version, or the storage failed.
    #[error(transparent)]
    Cart(#[from] CartWriteError),
    /// The catalog holds no such product.
    #[error("product not found")]
    ProductNotFound,
    /// The line would pass the cap of units.
    #[error(transparent)]
    LineQuantityExceeded(LineQuantityExceeded),
    /// A new line would pass the cap of lines.
    #[error(transparent)]
    TooManyLines(TooManyLines),
}

impl From<AddRefused> for AddItemError {
    fn from(refused: AddRefused) -> Self {
        match refused {
            AddRefused::LineQuantityExceeded(err) => Self::LineQuantityExceeded(err),
            AddRefused::TooManyLines(err) => Self::TooManyLines(err),
        }
    }
}

/// Why setting a line's quantity failed.
#[derive(Debug, thiserror::Error)]
pub enum SetItemError {
    /// The cart is missing, at another version, or the storage failed.
    #[error(transparent)]
    Cart(#[from] CartWriteError),
    /// The catalog holds no such product.
    #[error("product not found")]
    ProductNotFound,
    /// A new line would pass the cap of lines.
    #[error(transparent)]
    TooManyLines(#[from] TooManyLines),
}

/// Why removing a line failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoveItemError {
    /// The cart is missing, at another version, or the storage failed.
    #[error(transparent)]
    Cart(#[from] CartWriteError),
    /// The product has no line in the cart.
    #[error(transparent)]
    LineNotFound(#[from] LineNotFound),
}

impl From<GetCartError> for CartWriteError {
    fn from(err: GetCartError) -> Self {
        match err {
            GetCartError::NotFound => Self::CartNotFound,
            GetCartError::Storage(err) => Self::Storage(err),
        }
    }
}

/// A storage failure met by a write with cases of its own is a [`CartWriteError`].
macro_rules! storage_is_a_write_error {
    ($($error:ty),*) => {$(
        impl From<StorageError> for $error {
            fn from(err: StorageError) -> Self {
                CartWriteError::Storage(err).into()
            }
        }
    )*};
}

storage_is_a_write_error!(AddItemError, SetItemError, RemoveItemError);
