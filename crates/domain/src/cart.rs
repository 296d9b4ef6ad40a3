//! Carts: lines that map a product to a quantity, like the original's
//! association object, with the rules every storage must keep.
//!
//! Adding a product that is already in the cart adds to its line's quantity;
//! a line never holds more than the configured maximum nor fewer than one;
//! every change that alters the lines moves the version up by exactly one.

use chrono::{DateTime, TimeDelta, Utc};
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

/// The most lines (distinct products) a cart may hold (a setting, 100 by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MaxLines(u32);

impl MaxLines {
    /// The highest cap we accept.
    pub const CEILING: u32 = 1000;

    /// A cap of `max` lines, if it is in `1..=CEILING`.
    pub fn new(max: u32) -> Option<Self> {
        (1..=Self::CEILING).contains(&max).then_some(Self(max))
    }

    /// The cap as a number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for MaxLines {
    fn default() -> Self {
        Self(100)
    }
}

/// The limits of one cart: what its lines may hold. Whatever limits are
/// chosen, a cart's totals fit in an `i64` of minor units: the ceilings of
/// the two limits and the highest price multiply to less than `i64::MAX`,
/// which the compiler checks here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CartLimits {
    /// Units per line.
    pub max_line_quantity: MaxLineQuantity,
    /// Lines per cart.
    pub max_lines: MaxLines,
}

const _TOTALS_FIT: () = assert!(
    (MaxLines::CEILING as i128) * (MaxLineQuantity::CEILING as i128) * (Price::MAX as i128) <= i64::MAX as i128
);

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
        // At most Price::MAX × MaxLineQuantity::CEILING: fits (`_TOTALS_FIT`).
        self.unit_price.minor_units().checked_mul(i64::from(self.quantity.get())).expect("a line total fits in i64")
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

/// A new line would pass the cart's cap of lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the cart already holds {max} products, the most it may hold")]
pub struct TooManyLines {
    /// The cap.
    pub max: u32,
}

/// Why an add was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AddRefused {
    /// The line would pass the cap of units.
    #[error(transparent)]
    LineQuantityExceeded(#[from] LineQuantityExceeded),
    /// A new line would pass the cap of lines.
    #[error(transparent)]
    TooManyLines(#[from] TooManyLines),
}

/// The product has no line in the cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the product is not in the cart")]
pub struct LineNotFound;

/// A shopping cart: the aggregate that keeps the rules of its lines.
///
/// Every method that changes the lines moves the version up by exactly one
/// and returns the [`LineChange`] storage must write; a method that finds
/// nothing to do returns `None` and leaves the cart as it was. Its fields are
/// private: a cart is made new ([`Cart::new`]), changed by these methods, or
/// restored from storage through the checks of [`Cart::restore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cart {
    id: CartId,
    lines: Vec<CartLine>,
    version: Version,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// Stored data that no cart can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCart {
    /// Two lines hold one product.
    #[error("two lines hold the product {0:?}")]
    DuplicateLine(ProductId),
    /// More lines than any cart is ever given.
    #[error(transparent)]
    TooManyLines(#[from] TooManyLines),
    /// Changed before it was created.
    #[error("the cart's last change is before its creation")]
    ChangedBeforeCreated,
}

impl Cart {
    /// A new, empty cart at version 0.
    pub fn new(id: CartId, now: DateTime<Utc>) -> Self {
        Self { id, lines: Vec::new(), version: Version::default(), created_at: now, updated_at: now }
    }

    /// A cart as storage kept it, `lines` oldest first, if it is one a cart
    /// can be: one line per product, at most [`MaxLines::CEILING`] lines (so
    /// its totals fit), changed no earlier than created.
    pub fn restore(
        id: CartId,
        version: Version,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
        lines: Vec<CartLine>,
    ) -> Result<Self, InvalidCart> {
        if lines.len() > MaxLines::CEILING as usize {
            return Err(TooManyLines { max: MaxLines::CEILING }.into());
        }
        if updated_at < created_at {
            return Err(InvalidCart::ChangedBeforeCreated);
        }
        // Pairwise: carts are small (100 lines by default), and this runs on
        // every cart read, where a hash set's allocation and hashing cost more.
        for (i, line) in lines.iter().enumerate() {
            if lines[..i].iter().any(|earlier| earlier.product_id == line.product_id) {
                return Err(InvalidCart::DuplicateLine(line.product_id));
            }
        }
        Ok(Self { id, lines, version, created_at, updated_at })
    }

    /// Its identifier.
    pub fn id(&self) -> CartId {
        self.id
    }

    /// Its lines, oldest first.
    pub fn lines(&self) -> &[CartLine] {
        &self.lines
    }

    /// Its lines, oldest first, taken out of it (for showing them).
    pub fn into_lines(self) -> Vec<CartLine> {
        self.lines
    }

    /// Goes up by one with every change of the lines.
    pub fn version(&self) -> Version {
        self.version
    }

    /// When it was created.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// When its lines last changed.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }

    /// The number of units over all lines.
    pub fn total_quantity(&self) -> u64 {
        self.lines.iter().map(|line| u64::from(line.quantity.get())).sum()
    }

    /// The sum of the line totals, exact.
    pub fn subtotal(&self) -> i64 {
        // At most MaxLines::CEILING lines (`add`, `set_quantity` and `restore`
        // keep to it): fits (`_TOTALS_FIT`).
        self.lines
            .iter()
            .try_fold(0_i64, |sum, line| sum.checked_add(line.line_total()))
            .expect("a subtotal fits in i64")
    }

    /// When the cart expires unless its lines change: `updated_at` plus the time to live.
    pub fn expires_at(&self, ttl: TimeDelta) -> DateTime<Utc> {
        self.updated_at.checked_add_signed(ttl).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Whether the cart has expired by `now`: then it is as if it never existed.
    pub fn is_expired(&self, now: DateTime<Utc>, ttl: TimeDelta) -> bool {
        now >= self.expires_at(ttl)
    }

    /// The line that holds `product_id`, if any.
    pub fn line(&self, product_id: ProductId) -> Option<&CartLine> {
        self.lines.iter().find(|line| line.product_id == product_id)
    }

    /// Adds `quantity` units of `product`: to its line if it has one (within
    /// the cap of units), else on a new line at the end (within the cap of lines).
    pub fn add(
        &mut self,
        product: &Product,
        quantity: Quantity,
        limits: CartLimits,
        now: DateTime<Utc>,
    ) -> Result<LineChange, AddRefused> {
        let max = limits.max_line_quantity.get();
        match self.position(product.id) {
            Some(i) => {
                let requested = u64::from(self.lines[i].quantity.get()) + u64::from(quantity.get());
                let within_cap = u32::try_from(requested).ok().filter(|&n| n <= max);
                let Some(total) = within_cap else {
                    return Err(LineQuantityExceeded { requested, max }.into());
                };
                self.lines[i].quantity = Quantity(total);
            }
            None => self.push_line(product, quantity, limits, now)?,
        }
        Ok(self.changed(LineChange::Put(product.id), now))
    }

    /// Sets the quantity of `product`'s line, creating the line if it has
    /// none (within the cap of lines); `None` (zero) removes the line.
    /// `Ok(None)`: nothing to change.
    pub fn set_quantity(
        &mut self,
        product: &Product,
        quantity: Option<Quantity>,
        limits: CartLimits,
        now: DateTime<Utc>,
    ) -> Result<Option<LineChange>, TooManyLines> {
        let change = match (self.position(product.id), quantity) {
            (Some(i), Some(q)) if self.lines[i].quantity == q => return Ok(None),
            (Some(i), Some(q)) => {
                self.lines[i].quantity = q;
                LineChange::Put(product.id)
            }
            (Some(i), None) => {
                self.lines.remove(i);
                LineChange::Removed(product.id)
            }
            (None, Some(q)) => {
                self.push_line(product, q, limits, now)?;
                LineChange::Put(product.id)
            }
            (None, None) => return Ok(None),
        };
        Ok(Some(self.changed(change, now)))
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

    fn push_line(
        &mut self,
        product: &Product,
        quantity: Quantity,
        limits: CartLimits,
        now: DateTime<Utc>,
    ) -> Result<(), TooManyLines> {
        let max = limits.max_lines.get();
        if self.lines.len() >= max as usize {
            return Err(TooManyLines { max });
        }
        self.lines.push(new_line(product, quantity, now));
        Ok(())
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

    fn limits(max_line_quantity: u32, max_lines: u32) -> CartLimits {
        CartLimits {
            max_line_quantity: MaxLineQuantity::new(max_line_quantity).expect("valid"),
            max_lines: MaxLines::new(max_lines).expect("valid"),
        }
    }

    #[test]
    fn only_a_cart_that_could_be_is_restored() {
        let (tea, now) = (product(450), Utc::now());
        let line = |product: &Product| CartLine {
            product_id: product.id,
            name: product.name.clone(),
            unit_price: product.price,
            quantity: qty(1),
            added_at: now,
        };
        let restore = |lines, updated_at| Cart::restore(CartId::new_random(), Version(3), now, updated_at, lines);
        let cart = restore(vec![line(&tea), line(&product(100))], now).expect("a cart");
        assert_eq!((cart.lines().len(), cart.version(), cart.subtotal()), (2, Version(3), 550));
        assert_eq!(restore(vec![line(&tea), line(&tea)], now), Err(InvalidCart::DuplicateLine(tea.id)));
        assert_eq!(restore(vec![], now - TimeDelta::seconds(1)), Err(InvalidCart::ChangedBeforeCreated));
        let too_many = (0..=MaxLines::CEILING).map(|_| line(&product(1))).collect();
        assert_eq!(restore(too_many, now), Err(TooManyLines { max: MaxLines::CEILING }.into()));
    }

    #[test]
    fn adding_again_adds_to_the_line() {
        let tea = product(450);
        let mut cart = Cart::new(CartId::new_random(), Utc::now());
        let max = CartLimits::default();
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
        let max = limits(10, 100);
        let mut cart = Cart::new(CartId::new_random(), Utc::now());
        let seven = Quantity::new(7, max.max_line_quantity).expect("valid");
        cart.add(&tea, seven, max, Utc::now()).expect("fits");
        let before = cart.clone();
        let refused = cart.add(&tea, seven, max, Utc::now());
        assert_eq!(refused, Err(LineQuantityExceeded { requested: 14, max: 10 }.into()));
        assert_eq!(cart, before);
    }

    #[test]
    fn the_cap_of_lines_refuses_a_new_line_only() {
        let (tea, cake, cocoa) = (product(1), product(2), product(3));
        let max = limits(999, 2);
        let mut cart = Cart::new(CartId::new_random(), Utc::now());
        cart.add(&tea, qty(1), max, Utc::now()).expect("fits");
        cart.set_quantity(&cake, Some(qty(1)), max, Utc::now()).expect("fits");
        let before = cart.clone();
        assert_eq!(cart.add(&cocoa, qty(1), max, Utc::now()), Err(TooManyLines { max: 2 }.into()));
        assert_eq!(cart.set_quantity(&cocoa, Some(qty(1)), max, Utc::now()), Err(TooManyLines { max: 2 }));
        assert_eq!(cart, before);
        assert!(cart.add(&tea, qty(5), max, Utc::now()).is_ok(), "an existing line still grows");
    }

    #[test]
    fn a_cart_expires_its_time_to_live_after_its_last_change() {
        let created = Utc::now();
        let ttl = TimeDelta::days(30);
        let mut cart = Cart::new(CartId::new_random(), created);
        assert_eq!(cart.expires_at(ttl), created + ttl);
        assert!(!cart.is_expired(created + ttl - TimeDelta::seconds(1), ttl));
        assert!(cart.is_expired(created + ttl, ttl));
        let later = created + TimeDelta::days(10);
        cart.add(&product(1), qty(1), CartLimits::default(), later).expect("fits");
        assert_eq!(cart.expires_at(ttl), later + ttl, "a change restarts the clock");
    }

    #[test]
    fn set_zero_removes_and_no_op_keeps_the_version() {
        let tea = product(1);
        let mut cart = Cart::new(CartId::new_random(), Utc::now());
        let max = CartLimits::default();
        assert_eq!(cart.set_quantity(&tea, None, max, Utc::now()), Ok(None));
        assert_eq!(cart.version, Version(0));
        assert_eq!(cart.set_quantity(&tea, Some(qty(4)), max, Utc::now()), Ok(Some(LineChange::Put(tea.id))));
        assert_eq!(cart.set_quantity(&tea, Some(qty(4)), max, Utc::now()), Ok(None));
        assert_eq!(cart.set_quantity(&tea, None, max, Utc::now()), Ok(Some(LineChange::Removed(tea.id))));
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
        cart.add(&tea, qty(1), CartLimits::default(), Utc::now()).expect("fits");
        assert_eq!(cart.remove(tea.id, Utc::now()), Ok(LineChange::Removed(tea.id)));
        cart.add(&tea, qty(1), CartLimits::default(), Utc::now()).expect("fits");
        assert_eq!(cart.clear(Utc::now()), Some(LineChange::Cleared));
        assert_eq!((cart.lines.len(), cart.version), (0, Version(4)));
    }

    #[test]
    fn changes_move_updated_at_and_new_lines_go_last() {
        let (tea, cake) = (product(1), product(2));
        let created = Utc::now();
        let mut cart = Cart::new(CartId::new_random(), created);
        let later = created + chrono::Duration::seconds(5);
        cart.add(&tea, qty(1), CartLimits::default(), later).expect("fits");
        cart.set_quantity(&cake, Some(qty(2)), CartLimits::default(), later).expect("fits").expect("a new line");
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
            let limits = limits(20, 100);
            let max = limits.max_line_quantity;
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
                    match cart.add(p, quantity, limits, Utc::now()) {
                        Ok(change) => {
                            prop_assert!(after <= 20);
                            prop_assert_eq!(change, LineChange::Put(p.id));
                            expected[which] = after;
                            changes += 1;
                        }
                        Err(AddRefused::LineQuantityExceeded(LineQuantityExceeded { requested, max })) => {
                            prop_assert_eq!(requested, after);
                            prop_assert!(requested > u64::from(max));
                        }
                        Err(AddRefused::TooManyLines(_)) => prop_assert!(false, "three products never pass 100 lines"),
                    }
                } else {
                    let quantity = Quantity::new_or_zero(n, max).expect("in range");
                    let change = cart.set_quantity(p, quantity, limits, Utc::now()).expect("three lines fit");
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

#[cfg(test)]
mod totals {
    use super::*;
    use crate::product::{NewProduct, ProductName};
    use proptest::prelude::*;

    proptest! {
        /// Whatever the limits and however a cart is filled within them, its
        /// totals are exact, with no overflow (the checked sums would panic).
        #[test]
        fn no_valid_limits_and_requests_overflow_a_total(
            max_line_quantity in 1..=MaxLineQuantity::CEILING,
            max_lines in 1..=MaxLines::CEILING,
            price in 0..=Price::MAX,
            requests in prop::collection::vec((0..2000_usize, 1_i64..=1_000_000), 1..60),
        ) {
            let limits = CartLimits {
                max_line_quantity: MaxLineQuantity::new(max_line_quantity).expect("in range"),
                max_lines: MaxLines::new(max_lines).expect("in range"),
            };
            let products: Vec<Product> = (0..2000)
                .map(|n| NewProduct {
                    name: ProductName::new(&format!("Product {n}")).expect("valid"),
                    description: None,
                    price: Price::new(price).expect("in range"),
                }
                .into_product(ProductId::new_random(), Utc::now()))
                .collect();
            let mut cart = Cart::new(CartId::new_random(), Utc::now());
            for (which, units) in requests {
                let Ok(quantity) = Quantity::new(units, limits.max_line_quantity) else { continue };
                let _ = cart.add(&products[which], quantity, limits, Utc::now());
            }
            prop_assert!(cart.lines.len() <= max_lines as usize);
            let exact: i128 = cart.lines.iter().map(|l| i128::from(price) * i128::from(l.quantity.get())).sum();
            prop_assert_eq!(i128::from(cart.subtotal()), exact);
        }

    }

    /// The worst case, at the ceilings: every line full at the highest price.
    #[test]
    fn the_fullest_cart_at_the_highest_prices_fits() {
        let limits = CartLimits {
            max_line_quantity: MaxLineQuantity::new(MaxLineQuantity::CEILING).expect("in range"),
            max_lines: MaxLines::new(MaxLines::CEILING).expect("in range"),
        };
        let mut cart = Cart::new(CartId::new_random(), Utc::now());
        for n in 0..MaxLines::CEILING {
            let product = NewProduct {
                name: ProductName::new(&format!("Product {n}")).expect("valid"),
                description: None,
                price: Price::new(Price::MAX).expect("in range"),
            }
            .into_product(ProductId::new_random(), Utc::now());
            let full = Quantity::new(i64::from(MaxLineQuantity::CEILING), limits.max_line_quantity).expect("valid");
            cart.add(&product, full, limits, Utc::now()).expect("fits");
        }
        assert_eq!(cart.subtotal(), 1_000_000_000_i64 * 1_000_000 * 1000);
    }
}
