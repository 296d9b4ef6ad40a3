//! The shop's domain model: products, carts and money, with the rules that keep
//! them valid.
//!
//! This crate is pure: it may depend on value libraries (`uuid`, `chrono`,
//! `thiserror`) but on no framework, runtime, database or DI container. Its
//! value types (`Quantity`, `Price`, `ProductName`, …) validate at
//! construction, so holding one proves it is valid. `Cart`'s fields are
//! still public (storage rebuilds carts from rows): its invariants hold for
//! the changes made through its methods.

pub mod cart;
pub mod money;
pub mod product;

pub use cart::{
    AddRefused, Cart, CartId, CartLimits, CartLine, LineChange, LineNotFound, LineQuantityExceeded, MaxLineQuantity,
    MaxLines, Quantity, QuantityError, TooManyLines, Version,
};
pub use money::{Currency, CurrencyError, Price, PriceError};
pub use product::{
    Description, DescriptionError, NewProduct, Product, ProductId, ProductName, ProductNameError, ProductPatch,
    SearchText, SearchTextError,
};
