-- The default source schema (DESIGN.md, "Source schema").
CREATE TABLE IF NOT EXISTS chains (
  slug   text PRIMARY KEY,              -- [a-z0-9_-]{1,64}
  active boolean NOT NULL DEFAULT true);

CREATE TABLE IF NOT EXISTS chain_prices (  -- the chain's base price of an item
  chain_slug  text   NOT NULL REFERENCES chains(slug),
  item_id     text   NOT NULL,
  price_cents bigint NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chain_slug, item_id));

CREATE TABLE IF NOT EXISTS store_prices (  -- a store's exception to the base price
  chain_slug  text   NOT NULL REFERENCES chains(slug),
  store_id    text   NOT NULL,
  item_id     text   NOT NULL,
  price_cents bigint NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chain_slug, store_id, item_id));
