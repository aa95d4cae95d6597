-- NOTIFY triggers on channel "pricecache".  Price tables notify once per
-- statement and chain, with every changed key in one payload, so that
-- pricecached applies a statement's changes together (never half of
-- them); when the keys do not fit a notification (8000 bytes) the payload
-- carries "keys": null and the chain is reloaded whole.  The chains table
-- notifies per row: any change there makes the daemon list chains again.
CREATE OR REPLACE FUNCTION pricecache_notify_keys() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  r record;
  payload text;
  store_col text := CASE WHEN TG_TABLE_NAME = 'store_prices' THEN 'store_id' ELSE 'NULL::text' END;
  src text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    src := format('SELECT chain_slug, %s AS store, item_id FROM pricecache_new', store_col);
  ELSIF TG_OP = 'DELETE' THEN
    src := format('SELECT chain_slug, %s AS store, item_id FROM pricecache_old', store_col);
  ELSE
    src := format('SELECT chain_slug, %1$s AS store, item_id FROM pricecache_new UNION '
                  'SELECT chain_slug, %1$s AS store, item_id FROM pricecache_old', store_col);
  END IF;
  FOR r IN EXECUTE format('SELECT chain_slug AS chain, jsonb_agg(DISTINCT jsonb_build_array(store, item_id)) AS keys '
                          'FROM (%s) k GROUP BY chain_slug', src)
  LOOP
    payload := jsonb_build_object('table', TG_TABLE_NAME, 'op', TG_OP, 'chain', r.chain,
                                  'keys', r.keys)::text;
    IF octet_length(payload) > 7900 THEN
      payload := jsonb_build_object('table', TG_TABLE_NAME, 'op', TG_OP, 'chain', r.chain,
                                    'keys', NULL)::text;
    END IF;
    PERFORM pg_notify('pricecache', payload);
  END LOOP;
  RETURN NULL;
END;
$fn$;

CREATE OR REPLACE FUNCTION pricecache_notify_chain() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    PERFORM pg_notify('pricecache', jsonb_build_object('table', TG_TABLE_NAME, 'op', TG_OP,
                                                       'chain', OLD.slug)::text);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM pg_notify('pricecache', jsonb_build_object('table', TG_TABLE_NAME, 'op', TG_OP,
                                                       'chain', NEW.slug)::text);
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
  FOR EACH ROW EXECUTE FUNCTION pricecache_notify_chain();

DROP TRIGGER IF EXISTS pricecache_notify_ins ON chain_prices;
CREATE TRIGGER pricecache_notify_ins AFTER INSERT ON chain_prices
  REFERENCING NEW TABLE AS pricecache_new
  FOR EACH STATEMENT EXECUTE FUNCTION pricecache_notify_keys();
DROP TRIGGER IF EXISTS pricecache_notify_upd ON chain_prices;
CREATE TRIGGER pricecache_notify_upd AFTER UPDATE ON chain_prices
  REFERENCING OLD TABLE AS pricecache_old NEW TABLE AS pricecache_new
  FOR EACH STATEMENT EXECUTE FUNCTION pricecache_notify_keys();
DROP TRIGGER IF EXISTS pricecache_notify_del ON chain_prices;
CREATE TRIGGER pricecache_notify_del AFTER DELETE ON chain_prices
  REFERENCING OLD TABLE AS pricecache_old
  FOR EACH STATEMENT EXECUTE FUNCTION pricecache_notify_keys();

DROP TRIGGER IF EXISTS pricecache_notify_ins ON store_prices;
CREATE TRIGGER pricecache_notify_ins AFTER INSERT ON store_prices
  REFERENCING NEW TABLE AS pricecache_new
  FOR EACH STATEMENT EXECUTE FUNCTION pricecache_notify_keys();
DROP TRIGGER IF EXISTS pricecache_notify_upd ON store_prices;
CREATE TRIGGER pricecache_notify_upd AFTER UPDATE ON store_prices
  REFERENCING OLD TABLE AS pricecache_old NEW TABLE AS pricecache_new
  FOR EACH STATEMENT EXECUTE FUNCTION pricecache_notify_keys();
DROP TRIGGER IF EXISTS pricecache_notify_del ON store_prices;
CREATE TRIGGER pricecache_notify_del AFTER DELETE ON store_prices
  REFERENCING OLD TABLE AS pricecache_old
  FOR EACH STATEMENT EXECUTE FUNCTION pricecache_notify_keys();

DROP TRIGGER IF EXISTS pricecache_notify_truncate ON chains;
CREATE TRIGGER pricecache_notify_truncate AFTER TRUNCATE ON chains
  FOR EACH STATEMENT EXECUTE FUNCTION pricecache_notify_truncate();
DROP TRIGGER IF EXISTS pricecache_notify_truncate ON chain_prices;
CREATE TRIGGER pricecache_notify_truncate AFTER TRUNCATE ON chain_prices
  FOR EACH STATEMENT EXECUTE FUNCTION pricecache_notify_truncate();
DROP TRIGGER IF EXISTS pricecache_notify_truncate ON store_prices;
CREATE TRIGGER pricecache_notify_truncate AFTER TRUNCATE ON store_prices
  FOR EACH STATEMENT EXECUTE FUNCTION pricecache_notify_truncate();
