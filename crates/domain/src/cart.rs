//! Carts: lines that map a product to a quantity, like the original's
//! association object, with the rules every storage must keep.
//!
//! Adding a product that is already in the cart adds to its line's quantity;
//! a line never holds more than the configured maximum nor fewer than one;
//! every change that alters the lines moves the version up by exactly one.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::money::Price;
use crate::product::{Product, ProductId, ProductName};

/// Identifies a cart. Random (UUIDv4): knowing it is what grants access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CartId(pub Uuid);

impl CartId {
    /// A new random, unguessable identifier.
    pub fn new_random() -> Self {
        Self(Uuid::new_v4())
    }
}

/// How many changes a cart has seen; a new cart is at 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u64);

impl Version {
    /// The version after one more change.
    pub fn next(self) -> Self {
        Self(self.0 + 1)
    }
}

/// The most units of one product a cart line may hold (a setting, 999 by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MaxLineQuantity(u32);

impl MaxLineQuantity {
    /// The highest cap we accept: with the highest price a line total stays far
    /// below `i64::MAX`.
    pub const CEILING: u32 = 1_000_000;
    /// The loosest cap: for reading stored lines, which a lowered setting must not make unreadable.
    pub const HIGHEST: Self = Self(Self::CEILING);

    /// A cap of `max`, if it is in `1..=CEILING`.
    pub fn new(max: u32) -> Option<Self> {
        (1..=Self::CEILING).contains(&max).then_some(Self(max))
    }

    /// The cap as a number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for MaxLineQuantity {
    fn default() -> Self {
        Self(999)
    }
}

/// A number of units on a cart line: at least one, at most the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(u32);

/// Why a quantity was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("quantity must be an integer between {min} and {max}")]
pub struct QuantityError {
    /// The lowest accepted value.
    pub min: u32,
    /// The highest accepted value.
    pub max: u32,
}

impl Quantity {
    /// A quantity of `n`, if it is in `1..=max`.
    pub fn new(n: i64, max: MaxLineQuantity) -> Result<Self, QuantityError> {
        match u32::try_from(n) {
            Ok(n) if (1..=max.get()).contains(&n) => Ok(Self(n)),
            _ => Err(QuantityError { min: 1, max: max.get() }),
        }
    }

    /// For "set the quantity" requests: `0` means no line (`None`), else as [`Quantity::new`].
    pub fn new_or_zero(n: i64, max: MaxLineQuantity) -> Result<Option<Self>, QuantityError> {
        if n == 0 {
            return Ok(None);
        }
        Self::new(n, max).map(Some).map_err(|e| QuantityError { min: 0, ..e })
    }

    /// The quantity as a number.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// One product in a cart, shown with the product's live name and price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    /// The product.
    pub product_id: ProductId,
    /// The product's current name.
    pub name: ProductName,
    /// The product's current price.
    pub unit_price: Price,
    /// How many units.
    pub quantity: Quantity,
    /// When the product was first added; lines are ordered by it.
    pub added_at: DateTime<Utc>,
}

impl CartLine {
    /// Unit price times quantity, exact.
    pub fn line_total(&self) -> i64 {
        self.unit_price.minor_units() * i64::from(self.quantity.get())
    }
}

/// A change to a cart's lines, as the ports carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CartChange {
    /// Add units of a product: a new line, or more on the existing one.
    Add {
        /// The product.
        product_id: ProductId,
        /// How many units to add.
        quantity: Quantity,
    },
    /// Set a line's quantity: create it if absent; `None` removes it if present.
    Set {
        /// The product.
        product_id: ProductId,
        /// The new quantity, `None` for zero.
        quantity: Option<Quantity>,
    },
    /// Remove a line that must be there.
    Remove {
        /// The product.
        product_id: ProductId,
    },
    /// Remove every line.
    Clear,
}

/// A change the cart's rules refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CartRuleError {
    /// The line would hold more than the cap.
    #[error("the line would hold {requested} units; at most {max} are allowed")]
    LineQuantityExceeded {
        /// What the line would have held.
        requested: u64,
        /// The cap.
        max: u32,
    },
    /// The product has no line in the cart.
    #[error("the product is not in the cart")]
    LineNotFound,
}

/// A shopping cart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cart {
    /// Its identifier.
    pub id: CartId,
    /// Its lines, oldest first.
    pub lines: Vec<CartLine>,
    /// Goes up by one with every change of the lines.
    pub version: Version,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its lines last changed.
    pub updated_at: DateTime<Utc>,
}

impl Cart {
    /// A new, empty cart at version 0.
    pub fn new(id: CartId, now: DateTime<Utc>) -> Self {
        Self { id, lines: Vec::new(), version: Version::default(), created_at: now, updated_at: now }
    }

    /// The number of units over all lines.
    pub fn total_quantity(&self) -> u64 {
        self.lines.iter().map(|line| u64::from(line.quantity.get())).sum()
    }

    /// The sum of the line totals, exact.
    pub fn subtotal(&self) -> i64 {
        self.lines.iter().map(CartLine::line_total).sum()
    }

    /// Applies `change`. `product` is the product the change names (its live
    /// name and price), `None` for [`CartChange::Clear`]. Returns whether the
    /// lines changed; only then does the version move.
    pub fn apply(
        &mut self,
        change: CartChange,
        product: Option<&Product>,
        max: MaxLineQuantity,
        now: DateTime<Utc>,
    ) -> Result<bool, CartRuleError> {
        let position = |lines: &[CartLine], id| lines.iter().position(|line: &CartLine| line.product_id == id);
        let changed = match (change, product) {
            (CartChange::Add { product_id, quantity }, Some(product)) => match position(&self.lines, product_id) {
                Some(i) => {
                    let line = &mut self.lines[i];
                    let requested = u64::from(line.quantity.get()) + u64::from(quantity.get());
                    if requested > u64::from(max.get()) {
                        return Err(CartRuleError::LineQuantityExceeded { requested, max: max.get() });
                    }
                    line.quantity = Quantity(requested as u32);
                    true
                }
                None => {
                    self.lines.push(new_line(product, quantity, now));
                    true
                }
            },
            (CartChange::Set { product_id, quantity }, Some(product)) => {
                match (position(&self.lines, product_id), quantity) {
                    (Some(i), Some(q)) if self.lines[i].quantity == q => false,
                    (Some(i), Some(q)) => {
                        self.lines[i].quantity = q;
                        true
                    }
                    (Some(i), None) => {
                        self.lines.remove(i);
                        true
                    }
                    (None, Some(q)) => {
                        self.lines.push(new_line(product, q, now));
                        true
                    }
                    (None, None) => false,
                }
            }
            (CartChange::Remove { product_id }, _) => {
                let i = position(&self.lines, product_id).ok_or(CartRuleError::LineNotFound)?;
                self.lines.remove(i);
                true
            }
            (CartChange::Clear, _) => {
                let had_lines = !self.lines.is_empty();
                self.lines.clear();
                had_lines
            }
            // Add and Set need the product; without it nothing can change.
            (CartChange::Add { .. } | CartChange::Set { .. }, None) => false,
        };
        if changed {
            self.version = self.version.next();
            self.updated_at = now;
        }
        Ok(changed)
    }
}

fn new_line(product: &Product, quantity: Quantity, now: DateTime<Utc>) -> CartLine {
    CartLine { product_id: product.id, name: product.name.clone(), unit_price: product.price, quantity, added_at: now }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::product::NewProduct;
    use proptest::prelude::*;

    fn product(price: i64) -> Product {
        NewProduct {
            name: ProductName::new("Green tea").expect("valid"),
            description: None,
            price: Price::new(price).expect("valid"),
        }
        .into_product(ProductId::new_random(), Utc::now())
    }

    fn qty(n: i64) -> Quantity {
        Quantity::new(n, MaxLineQuantity::default()).expect("valid")
    }

    fn add(p: &Product, n: i64) -> CartChange {
        CartChange::Add { product_id: p.id, quantity: qty(n) }
    }

    #[test]
    fn adding_again_adds_to_the_line() {
        let tea = product(450);
        let mut cart = Cart::new(CartId::new_random(), Utc::now());
        let max = MaxLineQuantity::default();
        assert_eq!(cart.apply(add(&tea, 2), Some(&tea), max, Utc::now()), Ok(true));
        assert_eq!(cart.apply(add(&tea, 3), Some(&tea), max, Utc::now()), Ok(true));
        assert_eq!(cart.lines.len(), 1);
        assert_eq!(cart.lines[0].quantity.get(), 5);
        assert_eq!(cart.subtotal(), 2250);
        assert_eq!(cart.version, Version(2));
    }

    #[test]
    fn the_cap_refuses_and_changes_nothing() {
        let tea = product(1);
        let max = MaxLineQuantity::new(10).expect("valid");
        let mut cart = Cart::new(CartId::new_random(), Utc::now());
        let seven = CartChange::Add { product_id: tea.id, quantity: Quantity::new(7, max).expect("valid") };
        cart.apply(seven, Some(&tea), max, Utc::now()).expect("fits");
        let before = cart.clone();
        assert_eq!(
            cart.apply(seven, Some(&tea), max, Utc::now()),
            Err(CartRuleError::LineQuantityExceeded { requested: 14, max: 10 })
        );
        assert_eq!(cart, before);
    }

    #[test]
    fn set_zero_removes_and_no_op_keeps_the_version() {
        let tea = product(1);
        let max = MaxLineQuantity::default();
        let mut cart = Cart::new(CartId::new_random(), Utc::now());
        let set = |q| CartChange::Set { product_id: tea.id, quantity: q };
        assert_eq!(cart.apply(set(None), Some(&tea), max, Utc::now()), Ok(false));
        assert_eq!(cart.version, Version(0));
        assert_eq!(cart.apply(set(Some(qty(4))), Some(&tea), max, Utc::now()), Ok(true));
        assert_eq!(cart.apply(set(Some(qty(4))), Some(&tea), max, Utc::now()), Ok(false));
        assert_eq!(cart.apply(set(None), Some(&tea), max, Utc::now()), Ok(true));
        assert!(cart.lines.is_empty());
        assert_eq!(cart.version, Version(2));
    }

    #[test]
    fn remove_needs_the_line_and_clear_of_empty_is_a_no_op() {
        let tea = product(1);
        let max = MaxLineQuantity::default();
        let mut cart = Cart::new(CartId::new_random(), Utc::now());
        assert_eq!(
            cart.apply(CartChange::Remove { product_id: tea.id }, None, max, Utc::now()),
            Err(CartRuleError::LineNotFound)
        );
        assert_eq!(cart.apply(CartChange::Clear, None, max, Utc::now()), Ok(false));
        assert_eq!(cart.version, Version(0));
    }

    #[test]
    fn quantity_ranges() {
        let max = MaxLineQuantity::default();
        assert_eq!(Quantity::new(0, max), Err(QuantityError { min: 1, max: 999 }));
        assert_eq!(Quantity::new(1000, max), Err(QuantityError { min: 1, max: 999 }));
        assert_eq!(Quantity::new_or_zero(0, max), Ok(None));
        assert_eq!(Quantity::new_or_zero(-1, max), Err(QuantityError { min: 0, max: 999 }));
        assert_eq!(Quantity::new(i64::MAX, max), Err(QuantityError { min: 1, max: 999 }));
    }

    proptest! {
        /// Any sequence of adds and sets keeps every line within 1..=max, keeps
        /// the totals exact, and moves the version once per effective change.
        #[test]
        fn cart_arithmetic_holds(ops in prop::collection::vec((0usize..3, 0i64..=12, any::<bool>()), 0..60)) {
            let max = MaxLineQuantity::new(20).expect("valid");
            let products = [product(450), product(0), product(1_000_000_000)];
            let mut cart = Cart::new(CartId::new_random(), Utc::now());
            let mut expected: [u64; 3] = [0; 3];
            let mut changes = 0;
            for (which, n, is_add) in ops {
                let p = &products[which];
                let before = expected[which];
                let change = if is_add {
                    match Quantity::new(n, max) {
                        Ok(quantity) => CartChange::Add { product_id: p.id, quantity },
                        Err(_) => continue,
                    }
                } else {
                    CartChange::Set { product_id: p.id, quantity: Quantity::new_or_zero(n, max).expect("in range") }
                };
                let result = cart.apply(change, Some(p), max, Utc::now());
                let after = if is_add { before + n as u64 } else { n as u64 };
                match result {
                    Ok(changed) => {
                        prop_assert!(after <= 20);
                        prop_assert_eq!(changed, after != before);
                        expected[which] = after;
                        changes += usize::from(changed);
                    }
                    Err(CartRuleError::LineQuantityExceeded { requested, max }) => {
                        prop_assert!(is_add);
                        prop_assert_eq!(requested, after);
                        prop_assert!(requested > u64::from(max));
                    }
                    Err(other) => prop_assert!(false, "unexpected {other:?}"),
                }
            }
            for line in &cart.lines {
                prop_assert!((1..=20).contains(&line.quantity.get()));
            }
            let subtotal: i64 = products.iter().zip(expected).map(|(p, q)| p.price.minor_units() * q as i64).sum();
            prop_assert_eq!(cart.subtotal(), subtotal);
            prop_assert_eq!(cart.total_quantity(), expected.iter().sum::<u64>());
            prop_assert_eq!(cart.version, Version(changes as u64));
        }
    }
}
