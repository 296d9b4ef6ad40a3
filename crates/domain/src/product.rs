//! The catalog: products with a validated name, an optional description and a price.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::money::Price;

/// Identifies a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProductId(pub Uuid);

impl ProductId {
    /// A new random identifier.
    pub fn new_random() -> Self {
        Self(Uuid::new_v4())
    }
}

/// A product's name: trimmed, 1 to 200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProductName(String);

/// Why a product name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProductNameError {
    /// Nothing but white space.
    #[error("name must not be empty")]
    Empty,
    /// More than [`ProductName::MAX_CHARS`] characters after trimming.
    #[error("name must be at most {max} characters, got {actual}", max = ProductName::MAX_CHARS)]
    TooLong {
        /// The length after trimming, in characters.
        actual: usize,
    },
}

impl ProductName {
    /// The longest name, in Unicode scalar values.
    pub const MAX_CHARS: usize = 200;

    /// The name with surrounding white space trimmed, if 1 to 200 characters remain.
    pub fn new(raw: &str) -> Result<Self, ProductNameError> {
        let trimmed = raw.trim();
        let chars = trimmed.chars().count();
        match chars {
            0 => Err(ProductNameError::Empty),
            n if n > Self::MAX_CHARS => Err(ProductNameError::TooLong { actual: n }),
            _ => Ok(Self(trimmed.to_owned())),
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<ProductName> for String {
    fn from(name: ProductName) -> Self {
        name.0
    }
}

/// A product's description: at most 2000 characters, kept as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Description(String);

/// Why a description was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("description must be at most {max} characters, got {actual}", max = Description::MAX_CHARS)]
pub struct DescriptionError {
    /// The length, in characters.
    pub actual: usize,
}

impl Description {
    /// The longest description, in Unicode scalar values.
    pub const MAX_CHARS: usize = 2000;

    /// The description, if it is at most 2000 characters long.
    pub fn new(raw: &str) -> Result<Self, DescriptionError> {
        let actual = raw.chars().count();
        if actual > Self::MAX_CHARS {
            return Err(DescriptionError { actual });
        }
        Ok(Self(raw.to_owned()))
    }

    /// The description as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<Description> for String {
    fn from(description: Description) -> Self {
        description.0
    }
}

/// A product of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// Its identifier.
    pub id: ProductId,
    /// Its name.
    pub name: ProductName,
    /// Its description, if it has one.
    pub description: Option<Description>,
    /// Its current price; carts show this live price.
    pub price: Price,
    /// When it was created; the catalog lists products in this order.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// What it takes to create a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProduct {
    /// The name.
    pub name: ProductName,
    /// The description, if any.
    pub description: Option<Description>,
    /// The price.
    pub price: Price,
}

impl NewProduct {
    /// The product this creates, with the given identity and creation time.
    pub fn into_product(self, id: ProductId, now: DateTime<Utc>) -> Product {
        Product {
            id,
            name: self.name,
            description: self.description,
            price: self.price,
            created_at: now,
            updated_at: now,
        }
    }
}

/// A partial change of a product: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductPatch {
    /// A new name.
    pub name: Option<ProductName>,
    /// A new description; `Some(None)` clears it.
    pub description: Option<Option<Description>>,
    /// A new price.
    pub price: Option<Price>,
}

impl ProductPatch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.description.is_none() && self.price.is_none()
    }
}

impl Product {
    /// Applies `patch`; a non-empty patch moves `updated_at` to `now`.
    pub fn apply(&mut self, patch: ProductPatch, now: DateTime<Utc>) {
        if patch.is_empty() {
            return;
        }
        if let Some(name) = patch.name {
            self.name = name;
        }
        if let Some(description) = patch.description {
            self.description = description;
        }
        if let Some(price) = patch.price {
            self.price = price;
        }
        self.updated_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn name_is_trimmed_of_all_white_space() {
        assert_eq!(ProductName::new(" \t\nGreen tea \n").map(|n| n.as_str().to_owned()), Ok("Green tea".to_owned()));
        assert_eq!(ProductName::new(" \t\n "), Err(ProductNameError::Empty));
    }

    #[test]
    fn name_length_counts_characters_not_bytes() {
        assert!(ProductName::new(&"é".repeat(200)).is_ok());
        assert_eq!(ProductName::new(&"é".repeat(201)), Err(ProductNameError::TooLong { actual: 201 }));
    }

    #[test]
    fn description_limit() {
        assert!(Description::new(&"ж".repeat(2000)).is_ok());
        assert_eq!(Description::new(&"ж".repeat(2001)), Err(DescriptionError { actual: 2001 }));
    }

    #[test]
    fn empty_patch_changes_nothing() {
        let now = Utc::now();
        let new = NewProduct {
            name: ProductName::new("Tea").expect("valid"),
            description: None,
            price: Price::new(1).expect("valid"),
        };
        let mut product = new.into_product(ProductId::new_random(), now);
        let before = product.clone();
        product.apply(ProductPatch::default(), now + chrono::Duration::seconds(1));
        assert_eq!(product, before);
    }

    proptest! {
        #[test]
        fn valid_names_are_trimmed_and_bounded(raw in "\\PC{0,250}") {
            match ProductName::new(&raw) {
                Ok(name) => {
                    prop_assert_eq!(name.as_str(), raw.trim());
                    prop_assert!((1..=200).contains(&name.as_str().chars().count()));
                }
                Err(ProductNameError::Empty) => prop_assert!(raw.trim().is_empty()),
                Err(ProductNameError::TooLong { actual }) => {
                    prop_assert_eq!(actual, raw.trim().chars().count());
                    prop_assert!(actual > 200);
                }
            }
        }
    }
}
