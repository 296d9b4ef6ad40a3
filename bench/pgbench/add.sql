-- POST /api/v1/carts/{id}/items (quantity 1, a product already in the cart):
-- one transaction that upserts within the cap, bumps the version, reads the cart back.
\set c random(0, :carts - 1)
\set j random(0, :lines - 1)
\set p (:c * :lines + :j) % :products
BEGIN;
INSERT INTO product_cart_association (cart_id, product_id, quantity, added_at)
     VALUES (md5('cart' || :c)::uuid, md5('product' || :p)::uuid, 1, now())
ON CONFLICT (cart_id, product_id) DO UPDATE
        SET quantity = product_cart_association.quantity + excluded.quantity
      WHERE product_cart_association.quantity + excluded.quantity <= 999;
UPDATE carts SET version = version + 1, updated_at = now() WHERE id = md5('cart' || :c)::uuid;
SELECT c.id, c.version, c.created_at, c.updated_at, l.product_id, l.quantity, l.added_at, p.name, p.price
  FROM carts c
  LEFT JOIN product_cart_association l ON l.cart_id = c.id
  LEFT JOIN products p ON p.id = l.product_id
 WHERE c.id = md5('cart' || :c)::uuid
 ORDER BY l.added_at, l.product_id;
END;
