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
    /// One unit: what an add without a quantity adds.
    pub const ONE: Self = Self(1);

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

/// What one effective change did to a cart's lines: what storage must write
/// besides the cart's new version and `updated_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineChange {
    /// The product's line is new or holds a new quantity: store it as the cart now has it.
    Put(ProductId),
    /// The product's line is gone.
    Removed(ProductId),
    /// Every line is gone.
    Cleared,
}

/// Adding would put more units on a line than the cap allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the line would hold {requested} units; at most {max} are allowed")]
pub struct LineQuantityExceeded {
    /// What the line would have held.
    pub requested: u64,
    /// The cap.
    pub max: u32,
}

/// The product has no line in the cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the product is not in the cart")]
pub struct LineNotFound;

/// A shopping cart: the aggregate that keeps the rules of its lines.
///
/// Every method that changes the lines moves the version up by exactly one
/// and returns the [`LineChange`] storage must write; a method that finds
/// nothing to do returns `None` and leaves the cart as it was.
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

    /// The line that holds `product_id`, if any.
    pub fn line(&self, product_id: ProductId) -> Option<&CartLine> {
        self.lines.iter().find(|line| line.product_id == product_id)
    }

    /// Adds `quantity` units of `product`: to its line if it has one (within
    /// `max`), else on a new line at the end.
    pub fn add(
        &mut self,
        product: &Product,
        quantity: Quantity,
        max: MaxLineQuantity,
        now: DateTime<Utc>,
    ) -> Result<LineChange, LineQuantityExceeded> {
        match self.position(product.id) {
            Some(i) => {
                let requested = u64::from(self.lines[i].quantity.get()) + u64::from(quantity.get());
                let within_cap = u32::try_from(requested).ok().filter(|&n| n <= max.get());
                let Some(total) = within_cap else {
                    return Err(LineQuantityExceeded { requested, max: max.get() });
                };
                self.lines[i].quantity = Quantity(total);
            }
            None => self.lines.push(new_line(product, quantity, now)),
        }
        Ok(self.changed(LineChange::Put(product.id), now))
    }

    /// Sets the quantity of `product`'s line, creating the line if it has
    /// none; `None` (zero) removes the line. `None` back: nothing to change.
    pub fn set_quantity(
        &mut self,
        product: &Product,
        quantity: Option<Quantity>,
        now: DateTime<Utc>,
    ) -> Option<LineChange> {
        let change = match (self.position(product.id), quantity) {
            (Some(i), Some(q)) if self.lines[i].quantity == q => return None,
            (Some(i), Some(q)) => {
                self.lines[i].quantity = q;
                LineChange::Put(product.id)
            }
            (Some(i), None) => {
                self.lines.remove(i);
                LineChange::Removed(product.id)
            }
            (None, Some(q)) => {
                self.lines.push(new_line(product, q, now));
                LineChange::Put(product.id)
            }
            (None, None) => return None,
        };
        Some(self.changed(change, now))
    }

    /// Removes the line of `product_id`, which must be in the cart.
    pub fn remove(&mut self, product_id: ProductId, now: DateTime<Utc>) -> Result<LineChange, LineNotFound> {
        let i = self.position(product_id).ok_or(LineNotFound)?;
        self.lines.remove(i);
        Ok(self.changed(LineChange::Removed(product_id), now))
    }

    /// Removes every line. `None` back: the cart was empty already.
    pub fn clear(&mut self, now: DateTime<Utc>) -> Option<LineChange> {
        if self.lines.is_empty() {
            return None;
        }
        self.lines.clear();
        Some(self.changed(LineChange::Cleared, now))
    }

    fn position(&self, product_id: ProductId) -> Option<usize> {
        self.lines.iter().position(|line| line.product_id == product_id)
    }

    fn changed(&mut self, change: LineChange, now: DateTime<Utc>) -> LineChange {
        self.version = self.version.next();
        self.updated_at = now;
        change
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

    #[test]
    fn adding_again_adds_to_the_line() {
        let tea = product(450);
        let mut cart = Cart::new(CartId::new_random(), Utc::now());
        let max = MaxLineQuantity::default();
        assert_eq!(cart.add(&tea, qty(2), max, Utc::now()), Ok(LineChange::Put(tea.id)));
        assert_eq!(cart.add(&tea, qty(3), max, Utc::now()), Ok(LineChange::Put(tea.id)));
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
        let seven = Quantity::new(7, max).expect("valid");
        cart.add(&tea, seven, max, Utc::now()).expect("fits");
        let before = cart.clone();
        assert_eq!(cart.add(&tea, seven, max, Utc::now()), Err(LineQuantityExceeded { requested: 14, max: 10 }));
        assert_eq!(cart, before);
    }

    #[test]
    fn set_zero_removes_and_no_op_keeps_the_version() {
        let tea = product(1);
        let mut cart = Cart::new(CartId::new_random(), Utc::now());
        assert_eq!(cart.set_quantity(&tea, None, Utc::now()), None);
        assert_eq!(cart.version, Version(0));
        assert_eq!(cart.set_quantity(&tea, Some(qty(4)), Utc::now()), Some(LineChange::Put(tea.id)));
        assert_eq!(cart.set_quantity(&tea, Some(qty(4)), Utc::now()), None);
        assert_eq!(cart.set_quantity(&tea, None, Utc::now()), Some(LineChange::Removed(tea.id)));
        assert!(cart.lines.is_empty());
        assert_eq!(cart.version, Version(2));
    }

    #[test]
    fn remove_needs_the_line_and_clear_of_empty_is_a_no_op() {
        let tea = product(1);
        let mut cart = Cart::new(CartId::new_random(), Utc::now());
        assert_eq!(cart.remove(tea.id, Utc::now()), Err(LineNotFound));
        assert_eq!(cart.clear(Utc::now()), None);
        assert_eq!(cart.version, Version(0));
        cart.add(&tea, qty(1), MaxLineQuantity::default(), Utc::now()).expect("fits");
        assert_eq!(cart.remove(tea.id, Utc::now()), Ok(LineChange::Removed(tea.id)));
        cart.add(&tea, qty(1), MaxLineQuantity::default(), Utc::now()).expect("fits");
        assert_eq!(cart.clear(Utc::now()), Some(LineChange::Cleared));
        assert_eq!((cart.lines.len(), cart.version), (0, Version(4)));
    }

    #[test]
    fn changes_move_updated_at_and_new_lines_go_last() {
        let (tea, cake) = (product(1), product(2));
        let created = Utc::now();
        let mut cart = Cart::new(CartId::new_random(), created);
        let later = created + chrono::Duration::seconds(5);
        cart.add(&tea, qty(1), MaxLineQuantity::default(), later).expect("fits");
        cart.set_quantity(&cake, Some(qty(2)), later).expect("a new line");
        assert_eq!(cart.lines.iter().map(|l| l.product_id).collect::<Vec<_>>(), [tea.id, cake.id]);
        assert_eq!((cart.created_at, cart.updated_at, cart.lines[1].added_at), (created, later, later));
        assert_eq!(cart.line(cake.id).map(|l| l.quantity), Some(qty(2)));
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
                if is_add {
                    let Ok(quantity) = Quantity::new(n, max) else { continue };
                    let after = before + n as u64;
                    match cart.add(p, quantity, max, Utc::now()) {
                        Ok(change) => {
                            prop_assert!(after <= 20);
                            prop_assert_eq!(change, LineChange::Put(p.id));
                            expected[which] = after;
                            changes += 1;
                        }
                        Err(LineQuantityExceeded { requested, max }) => {
                            prop_assert_eq!(requested, after);
                            prop_assert!(requested > u64::from(max));
                        }
                    }
                } else {
                    let quantity = Quantity::new_or_zero(n, max).expect("in range");
                    let change = cart.set_quantity(p, quantity, Utc::now());
                    prop_assert_eq!(change.is_some(), n as u64 != before);
                    expected[which] = n as u64;
                    changes += usize::from(change.is_some());
                }
                prop_assert_eq!(cart.line(p.id).map_or(0, |l| u64::from(l.quantity.get())), expected[which]);
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
