//! The use cases, one service per aggregate. Handlers call these; these call ports.

mod carts;
mod fast_path;
mod products;

pub use carts::{CartService, CartServiceImpl, CartServiceImplParameters, Expected};
pub use fast_path::CartServiceWithFastPath;
pub use products::{ListProducts, ProductPage, ProductService, ProductServiceImpl, ProductServiceImplParameters};

use chrono::{DateTime, SubsecRound, Utc};

/// The current time at the precision every storage keeps (microseconds), so a
/// value reads back exactly as it was written.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
