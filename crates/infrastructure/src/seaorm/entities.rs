//! SeaORM entities of the tables. They never leave this crate.

/// The `products` table.
pub mod product {
    use sea_orm::entity::prelude::*;

    /// A row of `products`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "products")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        /// The lower-cased name, for case-insensitive search that behaves the
        /// same on every database (SQLite's `lower()` knows only ASCII).
        pub name_folded: String,
        pub description: Option<String>,
        pub price: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `carts` table.
pub mod cart {
    use sea_orm::entity::prelude::*;

    /// A row of `carts`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "carts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `product_cart_association` table: the association object between a
/// cart and a product, carrying the quantity.
pub mod cart_line {
    use sea_orm::entity::prelude::*;

    /// A row of `product_cart_association`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "product_cart_association")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub cart_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub product_id: Uuid,
        pub quantity: i32,
        pub added_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `idempotency_keys` table: a claim while its request runs, then its answer.
pub mod idempotency_key {
    use sea_orm::entity::prelude::*;

    /// A row of `idempotency_keys`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub fingerprint: Vec<u8>,
        pub claim: Uuid,
        pub answer: Option<Vec<u8>>,
        pub expires_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
