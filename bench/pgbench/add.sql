-- POST /api/v1/carts/{id}/items (quantity 1, a product already in the cart):
-- the one statement the service sends on PostgreSQL: add to the line within
-- the cap if the cart has not expired, bump the version, read the cart back
-- (crates/infrastructure/src/seaorm/carts/fast_path.rs).
\set c random(0, :carts - 1)
\set j random(0, :lines - 1)
\set p (:c * :lines + :j) % :products
WITH line AS (
    UPDATE product_cart_association AS l SET quantity = l.quantity + 1
     WHERE l.cart_id = md5('cart' || :c)::uuid AND l.product_id = md5('product' || :p)::uuid AND l.quantity + 1 <= 999
       AND EXISTS (SELECT 1 FROM carts WHERE id = md5('cart' || :c)::uuid AND updated_at > now() - interval '30 days')
    RETURNING product_id, quantity, added_at
), bumped AS (
    UPDATE carts SET version = version + 1, updated_at = now()
     WHERE id = md5('cart' || :c)::uuid AND EXISTS (SELECT 1 FROM line)
    RETURNING id, version, created_at, updated_at
), lines AS (
    SELECT product_id, quantity, added_at FROM product_cart_association
     WHERE cart_id = md5('cart' || :c)::uuid AND product_id <> md5('product' || :p)::uuid
    UNION ALL
    SELECT product_id, quantity, added_at FROM line
)
SELECT c.id, c.version, c.created_at, c.updated_at, l.product_id, l.quantity, l.added_at, p.name, p.price,
       c.version = (SELECT version + 1 FROM carts WHERE id = md5('cart' || :c)::uuid) AS fresh
  FROM bumped c
 CROSS JOIN lines l
  LEFT JOIN products p ON p.id = l.product_id
 ORDER BY l.added_at, l.product_id;
