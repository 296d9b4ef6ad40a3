-- GET /api/v1/carts/{id}: the one join the service sends.
\set c random(0, :carts - 1)
SELECT c.id, c.version, c.created_at, c.updated_at, l.product_id, l.quantity, l.added_at, p.name, p.price
  FROM carts c
  LEFT JOIN product_cart_association l ON l.cart_id = c.id
  LEFT JOIN products p ON p.id = l.product_id
 WHERE c.id = md5('cart' || :c)::uuid
 ORDER BY l.added_at, l.product_id;
