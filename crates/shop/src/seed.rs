//! `shop seed --products N`: a realistic demo catalog, the same on every run.

use shop_application::ProductError;
use shop_application::ports::ProductRepository;
use shop_domain::{Description, NewProduct, Price, ProductId, ProductName};
use uuid::Uuid;

const KINDS: [(&str, &str, i64); 12] = [
    ("Green tea", "Loose-leaf, 100 g", 450),
    ("Black tea", "Assam, 250 g", 690),
    ("Espresso beans", "Single origin, 500 g", 1290),
    ("Oat biscuits", "Baked this week, 12 pieces", 320),
    ("Dark chocolate", "72% cocoa, 100 g", 280),
    ("Honey", "Wildflower, 350 g jar", 890),
    ("Teapot", "Glazed stoneware, 1 l", 3490),
    ("Mug", "Hand-thrown, 300 ml", 1450),
    ("Cocoa", "Unsweetened, 200 g", 520),
    ("Shortbread", "Butter, tin of 20", 1190),
    ("Matcha", "Ceremonial grade, 30 g", 2490),
    ("Jam", "Apricot, 250 g jar", 410),
];
const ORIGINS: [&str; 6] = ["", "Organic ", "Fair-trade ", "Small-batch ", "Smoked ", "Wild "];

/// What a seed run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    /// Products created now.
    pub created: usize,
    /// Products that were already there.
    pub existing: usize,
}

/// Makes sure demo products 1..=`count` exist. Their ids derive from their
/// number (UUIDv5), so running it again creates nothing twice.
pub async fn seed_products(products: &dyn ProductRepository, count: usize) -> Result<Seeded, ProductError> {
    let mut seeded = Seeded { created: 0, existing: 0 };
    let now = chrono::Utc::now();
    for n in 0..count {
        let id = ProductId(Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("shop-demo-product-{n}").as_bytes()));
        match products.get(id).await {
            Ok(_) => seeded.existing += 1,
            Err(ProductError::NotFound) => {
                let product = demo_product(n).into_product(id, now + chrono::Duration::microseconds(n as i64));
                products.insert(&product, None).await?;
                seeded.created += 1;
            }
            Err(err) => return Err(err),
        }
    }
    Ok(seeded)
}

fn demo_product(n: usize) -> NewProduct {
    let (kind, description, base_price) = KINDS[n % KINDS.len()];
    let origin = ORIGINS[(n / KINDS.len()) % ORIGINS.len()];
    let edition = n / (KINDS.len() * ORIGINS.len());
    let name = if edition == 0 { format!("{origin}{kind}") } else { format!("{origin}{kind} no. {}", edition + 1) };
    // Valid by construction: short names, short descriptions, prices far below the cap.
    NewProduct {
        name: ProductName::new(&name).unwrap_or_else(|_| unreachable!("demo names are valid")),
        description: Description::new(description).ok(),
        price: Price::new(base_price + (n as i64 % 7) * 10).unwrap_or_else(|_| unreachable!("demo prices are valid")),
    }
}
