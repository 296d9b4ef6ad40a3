//! Exact money: integer amounts in minor units of one currency.

use std::fmt;

/// A unit price in minor units of the shop's currency (`1999` is 19.99).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(i64);

/// Why a price was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("price must be an integer between {} and {}", Price::MIN, Price::MAX)]
pub struct PriceError;

impl Price {
    /// The lowest price: free.
    pub const MIN: i64 = 0;
    /// The highest price, 10 000 000.00 in a two-decimal currency.
    pub const MAX: i64 = 1_000_000_000;

    /// A price of `minor_units`, if it lies in `MIN..=MAX`.
    pub fn new(minor_units: i64) -> Result<Self, PriceError> {
        if (Self::MIN..=Self::MAX).contains(&minor_units) { Ok(Self(minor_units)) } else { Err(PriceError) }
    }

    /// The amount in minor units.
    pub fn minor_units(self) -> i64 {
        self.0
    }
}

/// An ISO 4217 currency code such as `EUR`: three ASCII capital letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

/// Why a currency code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("currency must be an ISO 4217 code of three capital letters, such as EUR")]
pub struct CurrencyError;

impl Currency {
    /// The currency with the given code, if it has the shape of an ISO 4217 code.
    pub fn new(code: &str) -> Result<Self, CurrencyError> {
        match code.as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Ok(Self([a, b, c])),
            _ => Err(CurrencyError),
        }
    }

    /// The three-letter code.
    pub fn code(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl Default for Currency {
    fn default() -> Self {
        Self(*b"EUR")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn price_bounds_are_inclusive() {
        assert!(Price::new(0).is_ok());
        assert!(Price::new(1_000_000_000).is_ok());
        assert_eq!(Price::new(-1), Err(PriceError));
        assert_eq!(Price::new(1_000_000_001), Err(PriceError));
    }

    #[test]
    fn currency_codes() {
        assert_eq!(Currency::new("USD").map(|c| c.to_string()), Ok("USD".to_owned()));
        for bad in ["usd", "EU", "EURO", "", "E1R", "ÄUR"] {
            assert_eq!(Currency::new(bad), Err(CurrencyError), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn price_accepts_exactly_its_range(units in any::<i64>()) {
            prop_assert_eq!(Price::new(units).is_ok(), (0..=1_000_000_000).contains(&units));
        }
    }
}
