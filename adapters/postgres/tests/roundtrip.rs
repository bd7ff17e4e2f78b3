//! Against a real PostgreSQL 15 server started by the test.

mod common;

use cairn_postgres::{backup, restore, verify, PgBackupOptions, PgConn, PgRestoreOptions, Tools};
use cairn_testkit::Pg;

fn socket_conn(pg: &Pg) -> PgConn {
    PgConn::new(Some(format!(
        "host={} port={} user=postgres dbname=postgres",
        pg.socket_dir.display(),
        pg.port
    )))
}

const SCHEMA: &str = r#"
CREATE ROLE shop_owner LOGIN PASSWORD 'owner-pw';
CREATE ROLE reporter;
CREATE DATABASE shop OWNER shop_owner;
"#;

const DATA: &str = r#"
SET ROLE shop_owner;
CREATE SCHEMA sales;
CREATE SCHEMA audit;
CREATE TABLE sales.customers (id serial PRIMARY KEY, name text NOT NULL, profile jsonb, tags text[], balance numeric(12,2));
CREATE TABLE sales.orders (id bigserial PRIMARY KEY, customer int REFERENCES sales.customers(id), lines json, total numeric, blob bytea, created timestamptz DEFAULT '2026-01-01');
CREATE INDEX orders_customer ON sales.orders (customer);
CREATE TABLE audit.events (id int, payload bytea, doc_oid oid);
INSERT INTO sales.customers (name, profile, tags, balance)
  SELECT 'customer ' || g, jsonb_build_object('tier', g % 3, 'note', repeat('x', g % 50)), ARRAY['t' || (g % 7), 'vip'], g * 1.25
  FROM generate_series(1, 3000) g;
INSERT INTO sales.orders (customer, lines, total, blob)
  SELECT 1 + g % 3000, json_build_array(g, g * 2), g / 7.0, decode(md5(g::text), 'hex')
  FROM generate_series(1, 20000) g;
INSERT INTO audit.events SELECT g, decode(repeat(md5(g::text), 4), 'hex'), lo_from_bytea(0, decode(md5(g::text), 'hex')) FROM generate_series(1, 20) g;
CREATE VIEW sales.big_customers AS SELECT id, name FROM sales.customers WHERE balance > 1000;
CREATE FUNCTION sales.order_count(c int) RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM sales.orders WHERE customer = c $$;
GRANT USAGE ON SCHEMA sales TO reporter;
GRANT SELECT ON sales.big_customers TO reporter;
"#;

const CHECKSUMS: &str = r#"
SELECT format('SELECT %L, count(*), md5(coalesce(string_agg(t::text, %L ORDER BY t::text), %L)) FROM %I.%I t', schemaname || '.' || tablename, ',', '', schemaname, tablename)
FROM pg_tables WHERE schemaname IN ('sales', 'audit') ORDER BY 1 \gexec
SELECT 'largeobjects', count(*), md5(coalesce(string_agg(encode(lo_get(oid), 'hex'), ',' ORDER BY oid), '')) FROM pg_largeobject_metadata;
"#;

fn schema_dump(pg: &Pg) -> String {
    let mut c = std::process::Command::new(pg.tool("pg_dump"));
    c.args(["--schema-only", "-d", "shop"]);
    pg.env(&mut c);
    let out = c.output().expect("pg_dump");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // `\restrict` lines carry a random key per dump run; drop them.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn state(pg: &Pg) -> (String, String) {
    (schema_dump(pg), pg.psql("shop", CHECKSUMS))
}

#[test]
fn round_trip_restores_schema_rows_large_objects_and_roles() {
    let pg = Pg::start();
    pg.psql("postgres", SCHEMA);
    pg.psql("shop", DATA);
    let before = state(&pg);
    assert!(before.1.contains("sales.orders\t20000"), "{}", before.1);
    assert!(before.1.contains("largeobjects\t20"));

    let repo = common::repo();
    let tools = Tools::new(Some(pg.bin.clone()));
    let conn = socket_conn(&pg);
    let res = backup(
        &repo,
        &PgBackupOptions {
            conn: conn.clone(),
            tools: tools.clone(),
            databases: vec!["shop".into()],
            globals: true,
            ..Default::default()
        },
    )
    .expect("backup");
    let info = &res.snapshot.info;
    assert!(
        info["postgres.server_version"].starts_with("15."),
        "{info:?}"
    );
    assert!(info["postgres.pg_dump_version"].contains("pg_dump"));
    assert_eq!(info["postgres.databases"], "shop");
    assert!(info["postgres.size.shop"].parse::<u64>().expect("size") > 1_000_000);
    assert!(!format!("{info:?}").contains("owner-pw"));
    assert_eq!(
        res.snapshot.paths,
        vec!["postgres/globals.sql", "postgres/shop.dump"]
    );

    // The weekly restore test: list, then restore into a scratch database.
    let report = verify(&repo, &res.id, &tools, Some(&conn)).expect("verify");
    assert_eq!(report.len(), 1);
    assert!(report[0].toc_entries > 10);
    let tables = report[0].tables.as_ref().expect("scratch restore");
    assert!(
        tables
            .iter()
            .any(|t| t.table == "sales.orders" && t.rows == 20000),
        "{tables:?}"
    );
    assert!(
        !pg.psql("postgres", "SELECT datname FROM pg_database")
            .contains("cairn_verify"),
        "scratch database dropped"
    );

    pg.psql("postgres", "DROP DATABASE shop");
    pg.psql("postgres", "DROP ROLE reporter; DROP ROLE shop_owner;");
    let restored = restore(
        &repo,
        &res.id,
        &PgRestoreOptions {
            conn: conn.clone(),
            tools: tools.clone(),
            globals: true,
            ..Default::default()
        },
    )
    .expect("restore");
    assert_eq!(restored, vec!["shop"]);
    let after = state(&pg);
    assert_eq!(before.0, after.0, "schema dump equal");
    assert_eq!(before.1, after.1, "row counts and checksums equal");

    // Into a new database, next to the original.
    restore(
        &repo,
        &res.id,
        &PgRestoreOptions {
            conn: conn.clone(),
            tools: tools.clone(),
            target_database: Some("shop_copy".into()),
            ..Default::default()
        },
    )
    .expect("restore copy");
    assert_eq!(
        pg.psql("shop_copy", "SELECT count(*) FROM sales.orders")
            .trim(),
        "20000"
    );
    // Over an existing database with --clean.
    pg.psql("shop", "DELETE FROM sales.orders WHERE id < 100");
    restore(
        &repo,
        &res.id,
        &PgRestoreOptions {
            conn,
            tools,
            clean: true,
            ..Default::default()
        },
    )
    .expect("clean restore");
    assert_eq!(before.1, state(&pg).1);
}
