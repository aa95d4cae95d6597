-- NOTIFY triggers: one notification per changed row on channel "pricecache",
-- naming the key, so that pricecached can apply small changes alone.
CREATE OR REPLACE FUNCTION pricecache_notify_row() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  o jsonb;
  n jsonb;
BEGIN
  IF TG_TABLE_NAME = 'chains' THEN
    IF TG_OP <> 'INSERT' THEN
      o := jsonb_build_object('table', TG_TABLE_NAME, 'op', TG_OP, 'chain', OLD.slug,
                              'store', NULL, 'item', NULL);
    END IF;
    IF TG_OP <> 'DELETE' THEN
      n := jsonb_build_object('table', TG_TABLE_NAME, 'op', TG_OP, 'chain', NEW.slug,
                              'store', NULL, 'item', NULL);
    END IF;
  ELSIF TG_TABLE_NAME = 'chain_prices' THEN
    IF TG_OP <> 'INSERT' THEN
      o := jsonb_build_object('table', TG_TABLE_NAME, 'op', TG_OP, 'chain', OLD.chain_slug,
                              'store', NULL, 'item', OLD.item_id);
    END IF;
    IF TG_OP <> 'DELETE' THEN
      n := jsonb_build_object('table', TG_TABLE_NAME, 'op', TG_OP, 'chain', NEW.chain_slug,
                              'store', NULL, 'item', NEW.item_id);
    END IF;
  ELSE
    IF TG_OP <> 'INSERT' THEN
      o := jsonb_build_object('table', TG_TABLE_NAME, 'op', TG_OP, 'chain', OLD.chain_slug,
                              'store', OLD.store_id, 'item', OLD.item_id);
    END IF;
    IF TG_OP <> 'DELETE' THEN
      n := jsonb_build_object('table', TG_TABLE_NAME, 'op', TG_OP, 'chain', NEW.chain_slug,
                              'store', NEW.store_id, 'item', NEW.item_id);
    END IF;
  END IF;
  -- An UPDATE that moves a row to another key changes both keys.
  IF o IS NOT NULL AND o IS DISTINCT FROM n THEN
    PERFORM pg_notify('pricecache', o::text);
  END IF;
  IF n IS NOT NULL THEN
    PERFORM pg_notify('pricecache', n::text);
  END IF;
  RETURN NULL;
END;
$fn$;

CREATE OR REPLACE FUNCTION pricecache_notify_truncate() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_notify('pricecache',
                    jsonb_build_object('table', TG_TABLE_NAME, 'op', 'TRUNCATE')::text);
  RETURN NULL;
END;
$fn$;

DROP TRIGGER IF EXISTS pricecache_notify ON chains;
CREATE TRIGGER pricecache_notify AFTER INSERT OR UPDATE OR DELETE ON chains
  FOR EACH ROW EXECUTE FUNCTION pricecache_notify_row();
DROP TRIGGER IF EXISTS pricecache_notify ON chain_prices;
CREATE TRIGGER pricecache_notify AFTER INSERT OR UPDATE OR DELETE ON chain_prices
  FOR EACH ROW EXECUTE FUNCTION pricecache_notify_row();
DROP TRIGGER IF EXISTS pricecache_notify ON store_prices;
CREATE TRIGGER pricecache_notify AFTER INSERT OR UPDATE OR DELETE ON store_prices
  FOR EACH ROW EXECUTE FUNCTION pricecache_notify_row();

DROP TRIGGER IF EXISTS pricecache_notify_truncate ON chains;
CREATE TRIGGER pricecache_notify_truncate AFTER TRUNCATE ON chains
  FOR EACH STATEMENT EXECUTE FUNCTION pricecache_notify_truncate();
DROP TRIGGER IF EXISTS pricecache_notify_truncate ON chain_prices;
CREATE TRIGGER pricecache_notify_truncate AFTER TRUNCATE ON chain_prices
  FOR EACH STATEMENT EXECUTE FUNCTION pricecache_notify_truncate();
DROP TRIGGER IF EXISTS pricecache_notify_truncate ON store_prices;
CREATE TRIGGER pricecache_notify_truncate AFTER TRUNCATE ON store_prices
  FOR EACH STATEMENT EXECUTE FUNCTION pricecache_notify_truncate();
