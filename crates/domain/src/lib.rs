//! The shop's domain model: products, carts and money, with the rules that keep
//! them valid.
//!
//! This crate is pure: it may depend on value libraries (`uuid`, `chrono`,
//! `thiserror`) but on no framework, runtime, database or DI container. Its
//! value types (`Quantity`, `Price`, `ProductName`, …) validate at
//! construction, so holding one proves it is valid. `Cart` keeps its fields
//! private: it is made new, changed by its methods, or restored from storage
//! through the checks of `Cart::restore`.

pub mod cart;
pub mod money;
pub mod product;

pub use cart::{
    AddRefused, Cart, CartId, CartLimits, CartLine, InvalidCart, LineChange, LineNotFound, LineQuantityExceeded,
    MaxLineQuantity, MaxLines, Quantity, QuantityError, TooManyLines, Version,
};
pub use money::{Currency, CurrencyError, Price, PriceError};
pub use product::{
    Description, DescriptionError, NewProduct, Product, ProductId, ProductName, ProductNameError, ProductPatch,
    SearchText, SearchTextError,
};
