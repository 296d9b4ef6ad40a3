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
    /// A control character inside the name (`char::is_control`: U+0000–U+001F,
    /// U+007F–U+009F). They mean nothing in a shop's text, and no database
    /// stores NUL the same way.
    #[error("name must not contain control characters")]
    ControlCharacter,
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
            _ if trimmed.chars().any(char::is_control) => Err(ProductNameError::ControlCharacter),
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
pub enum DescriptionError {
    /// More than [`Description::MAX_CHARS`] characters.
    #[error("description must be at most {max} characters, got {actual}", max = Description::MAX_CHARS)]
    TooLong {
        /// The length, in characters.
        actual: usize,
    },
    /// A control character other than a tab or a line feed.
    #[error("description must not contain control characters other than tabs and line feeds")]
    ControlCharacter,
}

impl Description {
    /// The longest description, in Unicode scalar values.
    pub const MAX_CHARS: usize = 2000;

    /// The description, if it is at most 2000 characters long, with no
    /// control characters but tabs and line feeds.
    pub fn new(raw: &str) -> Result<Self, DescriptionError> {
        let actual = raw.chars().count();
        if actual > Self::MAX_CHARS {
            return Err(DescriptionError::TooLong { actual });
        }
        if raw.chars().any(|c| c.is_control() && c != '\t' && c != '\n') {
            return Err(DescriptionError::ControlCharacter);
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

/// What a catalog search looks for in names: 1 to 200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SearchText(String);

/// Why a search text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("q must be 1 to {max} characters without control characters", max = SearchText::MAX_CHARS)]
pub struct SearchTextError;

impl SearchText {
    /// The longest search text, in Unicode scalar values: no name is longer.
    pub const MAX_CHARS: usize = ProductName::MAX_CHARS;

    /// The search text `raw`, if it is 1 to 200 characters without control characters.
    pub fn new(raw: &str) -> Result<Self, SearchTextError> {
        let chars = raw.chars().count();
        if (1..=Self::MAX_CHARS).contains(&chars) && !raw.chars().any(char::is_control) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(SearchTextError)
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
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
        assert_eq!(Description::new(&"ж".repeat(2001)), Err(DescriptionError::TooLong { actual: 2001 }));
    }

    #[test]
    fn control_characters_are_refused_but_tabs_and_line_feeds_in_descriptions() {
        for name in ["Green\ttea", "Green\0tea", "Green\u{7f}tea", "Green\u{85}tea", "Green\rtea"] {
            assert_eq!(ProductName::new(name), Err(ProductNameError::ControlCharacter), "{name:?}");
        }
        assert!(ProductName::new("\t Green tea \n").is_ok(), "surrounding white space is trimmed first");
        assert!(Description::new("Sencha\tfrom\nShizuoka").is_ok());
        for description in ["a\0b", "a\rb", "a\u{1b}b", "a\u{9f}b"] {
            assert_eq!(Description::new(description), Err(DescriptionError::ControlCharacter), "{description:?}");
        }
        assert!(SearchText::new(&"t".repeat(200)).is_ok());
        for q in ["", &"t".repeat(201), "tea\0", "te\na"] {
            assert_eq!(SearchText::new(q), Err(SearchTextError), "{q:?}");
        }
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
                Err(ProductNameError::ControlCharacter) => prop_assert!(raw.trim().chars().any(char::is_control)),
            }
        }
    }
}
