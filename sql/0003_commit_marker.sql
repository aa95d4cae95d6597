-- A commit marker: every transaction that changes prices sends, at commit,
-- one NOTIFY {"table":"pricecache_txn","op":"COMMIT","txid":...} after all
-- its statement NOTIFYs (deferred triggers fire at commit, notifications
-- keep their order).  pricecached holds a chain's changed keys until every
-- transaction that touched the chain has committed, so a transaction of
-- several statements is applied whole, however slowly its NOTIFYs arrive.
CREATE UNLOGGED TABLE IF NOT EXISTS pricecache_txn (txid bigint PRIMARY KEY);

CREATE OR REPLACE FUNCTION pricecache_txn_end() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_notify('pricecache', jsonb_build_object('table', 'pricecache_txn', 'op', 'COMMIT',
                                                     'txid', NEW.txid::text)::text);
  DELETE FROM pricecache_txn WHERE txid = NEW.txid;
  RETURN NULL;
END;
$fn$;

DROP TRIGGER IF EXISTS pricecache_txn_end ON pricecache_txn;
CREATE CONSTRAINT TRIGGER pricecache_txn_end AFTER INSERT ON pricecache_txn
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION pricecache_txn_end();

CREATE OR REPLACE FUNCTION pricecache_notify_keys() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  r record;
  payload text;
  store_col text := CASE WHEN TG_TABLE_NAME = 'store_prices' THEN 'store_id' ELSE 'NULL::text' END;
  src text;
  tx text := txid_current()::text;
  marked boolean := false;
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
    IF NOT marked AND current_setting('pricecache.txn_marked', true) IS DISTINCT FROM tx THEN
      PERFORM set_config('pricecache.txn_marked', tx, true);
      INSERT INTO pricecache_txn VALUES (tx::bigint) ON CONFLICT DO NOTHING;
    END IF;
    marked := true;
    payload := jsonb_build_object('table', TG_TABLE_NAME, 'op', TG_OP, 'chain', r.chain,
                                  'txid', tx, 'keys', r.keys)::text;
    IF octet_length(payload) > 7900 THEN
      payload := jsonb_build_object('table', TG_TABLE_NAME, 'op', TG_OP, 'chain', r.chain,
                                    'txid', tx, 'keys', NULL)::text;
    END IF;
    PERFORM pg_notify('pricecache', payload);
  END LOOP;
  RETURN NULL;
END;
$fn$;
