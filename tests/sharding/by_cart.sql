-- Carts and their lines hash-partitioned by cart, over the migrated (empty)
-- schema: the shape Citus gives with
--   create_distributed_table('carts', 'id');
--   create_distributed_table('product_cart_association', 'cart_id', colocate_with => 'carts');
--   create_reference_table('products');
-- Like Citus, PostgreSQL refuses a primary key or unique constraint of a
-- partitioned table that leaves out the partition key; the migrations'
-- constraints all include it, so they are copied as they are.
-- Used by tests/api.rs (carts_sharded_by_cart::...).
SET search_path = homework;
ALTER TABLE product_cart_association RENAME TO product_cart_association_unsharded;
ALTER TABLE carts RENAME TO carts_unsharded;
CREATE TABLE carts (LIKE carts_unsharded INCLUDING ALL) PARTITION BY HASH (id);
CREATE TABLE product_cart_association (LIKE product_cart_association_unsharded INCLUDING ALL)
  PARTITION BY HASH (cart_id);
DROP TABLE product_cart_association_unsharded, carts_unsharded;
ALTER TABLE product_cart_association
  ADD CONSTRAINT fk_product_cart_association_cart
    FOREIGN KEY (cart_id) REFERENCES carts (id) ON DELETE CASCADE,
  ADD CONSTRAINT fk_product_cart_association_product
    FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE CASCADE;
DO $$
BEGIN
  FOR shard IN 0..3 LOOP
    EXECUTE format('CREATE TABLE carts_p%s PARTITION OF carts FOR VALUES WITH (MODULUS 4, REMAINDER %s)', shard, shard);
    EXECUTE format('CREATE TABLE product_cart_association_p%s PARTITION OF product_cart_association '
                   'FOR VALUES WITH (MODULUS 4, REMAINDER %s)', shard, shard);
  END LOOP;
END $$;
