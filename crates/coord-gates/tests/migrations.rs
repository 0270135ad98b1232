//! The migrations checker on fixture repositories of each layout (sqlx, Flyway, Alembic, Knex,
//! Prisma, Django, dbmate / sql-migrate sections, Rails, and a file the SQL parser cannot read):
//! each bad fixture yields exactly its seeded defects — the `(rule, file)` pairs listed here, on
//! the lines its `coord-expect:` markers name — and each clean twin yields nothing. Discovery
//! ([`find_migrations`]) is checked on the fixtures and on small in-memory trees.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coord_gates::migrations::{Migration, MigrationsChecker, Tool, find_migrations};
use coord_gates::{CheckOutput, Checker, Severity, SourceFile, Workspace};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/migrations").join(name)
}

/// Every file under `root`, with `rel` relative to it, sorted.
fn read_files(root: &Path) -> Vec<SourceFile> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<SourceFile>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                let text = std::fs::read_to_string(&path).unwrap();
                out.push(SourceFile { rel, path, text });
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    out
}

fn check(files: &[SourceFile]) -> CheckOutput {
    MigrationsChecker.check(&Workspace { root: Path::new("."), files })
}

fn run(name: &str) -> (Vec<SourceFile>, CheckOutput) {
    let files = read_files(&fixture(name));
    assert!(!files.is_empty(), "fixture {name} exists");
    let out = check(&files);
    (files, out)
}

fn mem(list: &[(&str, &str)]) -> Vec<SourceFile> {
    list.iter().map(|(r, t)| SourceFile { rel: r.to_string(), path: r.into(), text: t.to_string() }).collect()
}

fn rule_files(out: &CheckOutput) -> BTreeSet<(String, String)> {
    out.findings.iter().map(|f| (f.rule.clone(), f.file.clone())).collect()
}

fn set(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter().map(|(r, f)| (r.to_string(), f.to_string())).collect()
}

/// `(rule, file, line)` of every `coord-expect: rule[, rule]` marker.
fn markers(files: &[SourceFile]) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    for f in files {
        for (i, line) in f.text.lines().enumerate() {
            if let Some(pos) = line.find("coord-expect:") {
                for rule in line[pos + "coord-expect:".len()..].split(',') {
                    if let Some(rule) = rule.split_whitespace().next() {
                        out.push((rule.to_string(), f.rel.clone(), i + 1));
                    }
                }
            }
        }
    }
    out.sort();
    out
}

fn located(out: &CheckOutput) -> Vec<(String, String, usize)> {
    let mut v: Vec<_> = out.findings.iter().map(|f| (f.rule.clone(), f.file.clone(), f.line)).collect();
    v.sort();
    v
}

const NO_ROLLBACK: &str = "migrations/no-rollback";
const DESTRUCTIVE: &str = "migrations/destructive";
const NOT_NULL: &str = "migrations/not-null-without-default";
const FK: &str = "migrations/fk-without-index";

fn expected_bad() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    vec![
        (
            "sqlx-bad",
            vec![
                (FK, "migrations/20240101000000_users.up.sql"),
                (NO_ROLLBACK, "migrations/20240201000000_profile.up.sql"),
                (NOT_NULL, "migrations/20240201000000_profile.up.sql"),
                (DESTRUCTIVE, "migrations/20240201000000_profile.up.sql"),
            ],
        ),
        (
            "flyway-bad",
            vec![
                (FK, "db/migration/V1__orders.sql"),
                (FK, "db/migration/V1_1__order_items.sql"),
                (NO_ROLLBACK, "db/migration/V2__cleanup.sql"),
                (DESTRUCTIVE, "db/migration/V2__cleanup.sql"),
                (DESTRUCTIVE, "db/migration/V3__rename_total.sql"),
            ],
        ),
        (
            "alembic-bad",
            vec![
                (NO_ROLLBACK, "alembic/versions/0001_add_tokens.py"),
                (NOT_NULL, "alembic/versions/0001_add_tokens.py"),
                (DESTRUCTIVE, "alembic/versions/0001_add_tokens.py"),
                (FK, "alembic/versions/0002_orders.py"),
                (NOT_NULL, "alembic/versions/0002_orders.py"),
                (DESTRUCTIVE, "alembic/versions/0002_orders.py"),
            ],
        ),
        (
            "knex-bad",
            vec![
                (NO_ROLLBACK, "migrations/20240301_orders.js"),
                (DESTRUCTIVE, "migrations/20240301_orders.js"),
                (FK, "migrations/20240315_order_lines.js"),
                (NOT_NULL, "migrations/20240315_order_lines.js"),
                (DESTRUCTIVE, "migrations/20240315_order_lines.js"),
            ],
        ),
        (
            "prisma",
            vec![
                (NO_ROLLBACK, "prisma/migrations/20240101000000_init/migration.sql"),
                (FK, "prisma/migrations/20240201000000_posts/migration.sql"),
                (NO_ROLLBACK, "prisma/migrations/20240301000000_user_name/migration.sql"),
                (NOT_NULL, "prisma/migrations/20240301000000_user_name/migration.sql"),
            ],
        ),
        (
            "django-bad",
            vec![
                (NO_ROLLBACK, "shop/migrations/0002_remove_price.py"),
                (DESTRUCTIVE, "shop/migrations/0002_remove_price.py"),
                (NO_ROLLBACK, "shop/migrations/0003_order_customer.py"),
                (DESTRUCTIVE, "shop/migrations/0003_order_customer.py"),
                (FK, "shop/migrations/0003_order_customer.py"),
            ],
        ),
        (
            "plain-bad",
            vec![
                (FK, "db/migrations/20240101120000_create_accounts.sql"),
                (NO_ROLLBACK, "db/migrations/20240102120000_drop_legacy.sql"),
                (DESTRUCTIVE, "db/migrations/20240102120000_drop_legacy.sql"),
                (NOT_NULL, "db/migrations/20240103120000_member_roles.sql"),
                (DESTRUCTIVE, "db/migrations/20240103120000_member_roles.sql"),
            ],
        ),
        (
            "rails-bad",
            vec![
                (FK, "db/migrate/20240101000000_create_orders.rb"),
                (NO_ROLLBACK, "db/migrate/20240201000000_cleanup_orders.rb"),
                (DESTRUCTIVE, "db/migrate/20240201000000_cleanup_orders.rb"),
                (NOT_NULL, "db/migrate/20240201000000_cleanup_orders.rb"),
            ],
        ),
        (
            "broken-sql",
            vec![
                (DESTRUCTIVE, "migrations/20240101000000_accounts.up.sql"),
                (NOT_NULL, "migrations/20240201000000_profile.up.sql"),
            ],
        ),
    ]
}

const CLEAN: &[&str] =
    &["sqlx-clean", "flyway-clean", "alembic-clean", "knex-clean", "django-clean", "plain-clean", "rails-clean"];

#[test]
fn each_bad_fixture_yields_exactly_its_seeded_findings() {
    for (name, want) in expected_bad() {
        let (files, out) = run(name);
        assert_eq!(rule_files(&out), set(&want), "{name}: (rule, file) pairs; findings: {:#?}", out.findings);
        assert_eq!(located(&out), markers(&files), "{name}: lines of the coord-expect markers");
        if name != "broken-sql" {
            assert!(out.notes.is_empty(), "{name}: {:?}", out.notes);
        }
    }
}

#[test]
fn clean_twins_yield_nothing() {
    for name in CLEAN {
        let (files, out) = run(name);
        assert!(markers(&files).is_empty(), "{name} seeds nothing");
        assert!(out.findings.is_empty(), "{name}: {:#?}", out.findings);
        assert!(out.notes.is_empty(), "{name}: {:?}", out.notes);
    }
}

#[test]
fn every_rule_has_a_seeded_true_positive() {
    let seeded: BTreeSet<String> =
        expected_bad().into_iter().flat_map(|(name, _)| markers(&read_files(&fixture(name)))).map(|m| m.0).collect();
    for rule in [NO_ROLLBACK, DESTRUCTIVE, NOT_NULL, FK] {
        assert!(seeded.contains(rule), "{rule}");
    }
}

#[test]
fn unparsable_sql_is_a_note_and_the_rest_is_still_checked() {
    let (_, out) = run("broken-sql");
    assert_eq!(out.notes.len(), 1, "{:?}", out.notes);
    let note = &out.notes[0];
    assert_eq!(note.file, "migrations/20240101000000_accounts.up.sql");
    assert!(note.message.starts_with("line 7:"), "the statement's line: {}", note.message);
    assert!(note.message.contains("sql parser error"), "the parser's message: {}", note.message);
    // The statement after the broken one, and the other file, were checked.
    assert!(out.findings.iter().any(|f| f.rule == DESTRUCTIVE && f.line == 13));
    assert!(note.message.contains("at line 9, column 32"), "the error's place in the file: {}", note.message);
    assert!(out.findings.iter().any(|f| f.rule == NOT_NULL && f.file.ends_with("_profile.up.sql")));
}

#[test]
fn findings_carry_severity_item_and_a_concrete_fix() {
    for (name, _) in expected_bad() {
        let (_, out) = run(name);
        for f in &out.findings {
            assert!(!f.fix.is_empty() && !f.message.is_empty(), "{f:?}");
            let item = if f.rule == FK { "database.indexes" } else { "database.migrations-tested" };
            assert_eq!(f.item, item, "{f:?}");
            let severity = match f.rule.as_str() {
                NO_ROLLBACK if name == "prisma" => Severity::Low,
                NO_ROLLBACK | FK => Severity::Medium,
                NOT_NULL => Severity::High,
                _ => f.severity,
            };
            assert_eq!(f.severity, severity, "{f:?}");
        }
    }
    let (_, sqlx) = run("sqlx-bad");
    let fk = sqlx.findings.iter().find(|f| f.rule == FK).unwrap();
    assert_eq!(fk.fix, "CREATE INDEX sessions_user_id_idx ON sessions (user_id);");
    let not_null = sqlx.findings.iter().find(|f| f.rule == NOT_NULL).unwrap();
    assert!(not_null.fix.contains("add display_name as NULL, backfill it, then make it NOT NULL"), "{}", not_null.fix);
    let (_, flyway) = run("flyway-bad");
    let by_line = |line: usize| {
        flyway.findings.iter().find(|f| f.file.ends_with("V3__rename_total.sql") && f.line == line).unwrap().severity
    };
    assert_eq!((by_line(4), by_line(5)), (Severity::Medium, Severity::High), "a rename is medium, a type change high");
    let (_, prisma) = run("prisma");
    let rollback = prisma.findings.iter().find(|f| f.rule == NO_ROLLBACK).unwrap();
    assert!(rollback.fix.contains("prisma migrate diff"), "{}", rollback.fix);
    let fk = prisma.findings.iter().find(|f| f.rule == FK).unwrap();
    assert!(fk.fix.contains("@@index([authorId])"), "{}", fk.fix);
    let (_, alembic) = run("alembic-bad");
    let fk = alembic.findings.iter().find(|f| f.rule == FK).unwrap();
    assert!(fk.fix.starts_with("op.create_index(\"orders_user_id_idx\", \"orders\", [\"user_id\"])"), "{}", fk.fix);
}

fn summary(ms: &[Migration]) -> Vec<(Tool, &str, bool)> {
    ms.iter().map(|m| (m.tool, m.version.as_str(), m.down.is_some())).collect()
}

#[test]
fn discovery_reads_the_fixture_layouts_in_version_order() {
    let ms = find_migrations(&read_files(&fixture("sqlx-clean")));
    assert_eq!(summary(&ms), vec![(Tool::Sql, "20240101000000", true), (Tool::Sql, "20240201000000", true)]);
    assert_eq!(ms[0].name, "users");
    assert_eq!(ms[0].up.0, "migrations/20240101000000_users.up.sql");
    assert_eq!(ms[0].down.as_ref().unwrap().0, "migrations/20240101000000_users.down.sql");

    // Flyway: 1.1 between 1 and 2, undo scripts paired by version, the repeatable script skipped.
    let ms = find_migrations(&read_files(&fixture("flyway-bad")));
    assert_eq!(
        summary(&ms),
        vec![
            (Tool::Flyway, "1", true),
            (Tool::Flyway, "1.1", true),
            (Tool::Flyway, "2", false),
            (Tool::Flyway, "3", true)
        ]
    );

    // Alembic: ordered by the revision chain; a downgrade that only passes is no rollback.
    let ms = find_migrations(&read_files(&fixture("alembic-bad")));
    assert_eq!(summary(&ms), vec![(Tool::Alembic, "0001", false), (Tool::Alembic, "0002", true)]);
    assert!(ms[1].up.1.starts_with("def upgrade() -> None:") && !ms[1].up.1.contains("downgrade"));

    // dbmate / sql-migrate sections, the down section first in one of them.
    let ms = find_migrations(&read_files(&fixture("plain-clean")));
    assert_eq!(summary(&ms), vec![(Tool::Sql, "1", true), (Tool::Sql, "2", true)]);
    assert!(ms[1].up.1.contains("ADD COLUMN role") && !ms[1].up.1.contains("DROP COLUMN"));
    assert!(ms[1].down.as_ref().unwrap().1.contains("DROP COLUMN role"));
    let ms = find_migrations(&read_files(&fixture("plain-bad")));
    assert_eq!(ms.iter().map(|m| m.down.is_some()).collect::<Vec<_>>(), vec![true, false, true], "empty down section");

    // Prisma: a kept down.sql counts.
    let ms = find_migrations(&read_files(&fixture("prisma")));
    assert_eq!(
        summary(&ms),
        vec![
            (Tool::Prisma, "20240101000000", false),
            (Tool::Prisma, "20240201000000", true),
            (Tool::Prisma, "20240301000000", false)
        ]
    );
    assert_eq!(ms[1].name, "posts");

    let ms = find_migrations(&read_files(&fixture("knex-bad")));
    assert_eq!(summary(&ms), vec![(Tool::Knex, "20240301", false), (Tool::Knex, "20240315", true)]);
    let ms = find_migrations(&read_files(&fixture("django-clean")));
    assert_eq!(summary(&ms), vec![(Tool::Django, "0002", true), (Tool::Django, "0003", true)]);
    let ms = find_migrations(&read_files(&fixture("django-bad")));
    assert_eq!(summary(&ms), vec![(Tool::Django, "0002", false), (Tool::Django, "0003", false)]);
    let ms = find_migrations(&read_files(&fixture("rails-bad")));
    assert_eq!(summary(&ms), vec![(Tool::Rails, "20240101000000", true), (Tool::Rails, "20240201000000", false)]);
}

#[test]
fn discovery_of_other_sql_layouts() {
    let ms = find_migrations(&mem(&[
        // diesel: one folder per migration
        ("migrations/2024-01-02-000000_posts/up.sql", "CREATE TABLE posts (id INT PRIMARY KEY);"),
        ("migrations/2024-01-02-000000_posts/down.sql", "DROP TABLE posts;"),
        ("migrations/2024-01-01-000000_users/up.sql", "CREATE TABLE users (id INT PRIMARY KEY);"),
        ("migrations/2024-01-01-000000_users/down.sql", "-- nothing to do\n"),
        // goose sections
        (
            "db/migrations/00003_tags.sql",
            "-- +goose Up\nCREATE TABLE tags (id INT);\n-- +goose Down\nDROP TABLE tags;\n",
        ),
        // golang-migrate numbering, 10 after 9
        ("sql/migrations/000010_b.up.sql", "SELECT 1;"),
        ("sql/migrations/000009_a.up.sql", "SELECT 1;"),
        ("sql/migrations/000009_a.down.sql", "SELECT 1;"),
        // not migrations: no version, or outside a migrations folder
        ("migrations/schema.sql", "CREATE TABLE x (id INT);"),
        ("src/queries/001_report.sql", "SELECT 1;"),
    ]));
    let got: Vec<(&str, &str, bool)> =
        ms.iter().map(|m| (m.up.0.as_str(), m.version.as_str(), m.down.is_some())).collect();
    assert_eq!(
        got,
        vec![
            ("db/migrations/00003_tags.sql", "00003", true),
            ("sql/migrations/000009_a.up.sql", "000009", true),
            ("sql/migrations/000010_b.up.sql", "000010", false),
            ("migrations/2024-01-01-000000_users/up.sql", "2024-01-01-000000", false),
            ("migrations/2024-01-02-000000_posts/up.sql", "2024-01-02-000000", true),
        ]
    );
    assert!(ms.iter().all(|m| m.tool == Tool::Sql));
    // An empty down file (sqlx's template comment) is no rollback.
    let out = check(&mem(&[
        ("migrations/1_a.up.sql", "CREATE TABLE a (id INT PRIMARY KEY);"),
        ("migrations/1_a.down.sql", "-- Add down migration script here\n"),
    ]));
    assert_eq!(rule_files(&out), set(&[(NO_ROLLBACK, "migrations/1_a.up.sql")]));
    assert!(out.findings[0].message.contains("empty down migration"), "{}", out.findings[0].message);
}

#[test]
fn alembic_order_follows_the_revision_chain_not_file_names() {
    let head = "from alembic import op\n\nrevision = \"{r}\"\ndown_revision = {d}\n\n\ndef upgrade():\n    op.create_index(\"i{r}\", \"t\", [\"c\"])\n\n\ndef downgrade():\n    op.drop_index(\"i{r}\")\n";
    let file = |r: &str, d: &str| head.replace("{r}", r).replace("{d}", d);
    let files = mem(&[
        ("alembic/versions/a1_third.py", &file("ffe1", "\"0c2b\"")),
        ("alembic/versions/b2_first.py", &file("9a01", "None")),
        ("alembic/versions/c3_second.py", &file("0c2b", "\"9a01\"")),
    ]);
    let ms = find_migrations(&files);
    assert_eq!(ms.iter().map(|m| m.version.as_str()).collect::<Vec<_>>(), vec!["9a01", "0c2b", "ffe1"]);
    assert!(ms.iter().all(|m| m.down.is_some()));
}

#[test]
fn foreign_keys_need_an_index_leading_with_their_columns_at_the_end() {
    let rules = |files: &[(&str, &str)]| -> Vec<(String, usize)> {
        check(&mem(files)).findings.into_iter().map(|f| (f.rule, f.line)).collect()
    };
    let t = "CREATE TABLE a (x INT, y INT, z INT, PRIMARY KEY (x, y));\nCREATE TABLE b (id INT PRIMARY KEY, ax INT, ay INT,\n  FOREIGN KEY (ax, ay) REFERENCES a (x, y));\n";
    // Composite: an index on (ay, ax, id) leads with both columns; one on (ax) alone does not.
    let covered = format!("{t}CREATE INDEX b_a ON b (ay, ax, id);");
    let partial = format!("{t}CREATE INDEX b_a ON b (ax);");
    let down = ("migrations/1_a.down.sql", "DROP TABLE b; DROP TABLE a;");
    assert_eq!(rules(&[("migrations/1_a.up.sql", &covered), down]), vec![]);
    assert_eq!(rules(&[("migrations/1_a.up.sql", &partial), down]), vec![(FK.to_string(), 2)]);
    // An index added by a later migration counts; one dropped later does not.
    let later = [
        ("migrations/1_a.up.sql", t),
        down,
        ("migrations/2_b.up.sql", "CREATE INDEX b_a ON b (ax, ay);"),
        ("migrations/2_b.down.sql", "DROP INDEX b_a;"),
    ];
    assert_eq!(rules(&later), vec![]);
    let mut dropped = later.to_vec();
    dropped.push(("migrations/3_c.up.sql", "DROP INDEX b_a;"));
    dropped.push(("migrations/3_c.down.sql", "CREATE INDEX b_a ON b (ax, ay);"));
    assert_eq!(rules(&dropped), vec![(FK.to_string(), 2)]);
    // A foreign key dropped later needs no index.
    let fk_dropped = [
        ("migrations/1_a.up.sql", "CREATE TABLE b (id INT PRIMARY KEY, a_id INT CONSTRAINT b_a_fk REFERENCES a (id));"),
        ("migrations/1_a.down.sql", "DROP TABLE b;"),
        ("migrations/2_b.up.sql", "ALTER TABLE b DROP CONSTRAINT b_a_fk;"),
        ("migrations/2_b.down.sql", "ALTER TABLE b ADD CONSTRAINT b_a_fk FOREIGN KEY (a_id) REFERENCES a (id);"),
    ];
    assert_eq!(rules(&fk_dropped), vec![]);
}

#[test]
fn each_migration_folder_has_its_own_schema() {
    // The index lives in another service's migrations: it does not cover this foreign key.
    let files = mem(&[
        (
            "billing/migrations/1_a.up.sql",
            "CREATE TABLE invoices (id INT PRIMARY KEY, customer_id INT REFERENCES customers (id));",
        ),
        ("billing/migrations/1_a.down.sql", "DROP TABLE invoices;"),
        (
            "shop/migrations/1_a.up.sql",
            "CREATE TABLE invoices (id INT PRIMARY KEY, customer_id INT);\nCREATE INDEX i ON invoices (customer_id);",
        ),
        ("shop/migrations/1_a.down.sql", "DROP TABLE invoices;"),
    ]);
    assert_eq!(rule_files(&check(&files)), set(&[(FK, "billing/migrations/1_a.up.sql")]));
}

#[test]
fn mysql_foreign_keys_are_indexed_by_innodb() {
    let sql = "CREATE TABLE `orders` (\n  `id` BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n  `customer_id` BIGINT NOT NULL,\n  CONSTRAINT `fk_c` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`id`)\n) ENGINE=InnoDB;";
    let files = [("migrations/1_orders.up.sql", sql), ("migrations/1_orders.down.sql", "DROP TABLE `orders`;")];
    assert!(check(&mem(&files)).findings.is_empty());
    // MySQL syntax that the PostgreSQL dialect also accepts.
    let plain = "create table post (\n  post_id integer primary key auto_increment,\n  user_id integer not null references user (user_id)\n);";
    assert!(
        check(&mem(&[("migrations/2_post.up.sql", plain), ("migrations/2_post.down.sql", "drop table post;")]))
            .findings
            .is_empty()
    );
    // Portable SQL in a project configured for MySQL.
    let portable = "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id BIGINT REFERENCES customers (id));";
    let base = [("migrations/1_orders.up.sql", portable), ("migrations/1_orders.down.sql", "DROP TABLE orders;")];
    assert_eq!(rule_files(&check(&mem(&base))), set(&[(FK, "migrations/1_orders.up.sql")]));
    let mut mysql = base.to_vec();
    mysql.push(("knexfile.js", "module.exports = { client: 'mysql2', connection: process.env.DATABASE_URL };"));
    assert!(check(&mem(&mysql)).findings.is_empty());
    // MySQL type changes are destructive too.
    let modify = [
        ("migrations/2_m.up.sql", "ALTER TABLE `orders` MODIFY COLUMN `total` DECIMAL(14,2) NOT NULL;"),
        ("migrations/2_m.down.sql", "ALTER TABLE `orders` MODIFY COLUMN `total` DECIMAL(10,2) NOT NULL;"),
    ];
    let out = check(&mem(&modify));
    assert_eq!(rule_files(&out), set(&[(DESTRUCTIVE, "migrations/2_m.up.sql")]));
    assert_eq!(out.findings[0].severity, Severity::High);
}

#[test]
fn new_tables_are_not_destructive_or_not_null_risks_and_downs_are_not_scanned() {
    let up = "CREATE TABLE t (id INT PRIMARY KEY);\nALTER TABLE t ADD COLUMN n TEXT NOT NULL;\nALTER TABLE t DROP COLUMN n;\n\
              ALTER TABLE t ADD COLUMN s BIGSERIAL NOT NULL;\nDELETE FROM t WHERE id < 0;\n";
    let files = [("migrations/1_t.up.sql", up), ("migrations/1_t.down.sql", "DROP TABLE t; TRUNCATE other;")];
    let out = check(&mem(&files));
    assert!(out.findings.is_empty(), "{:#?}", out.findings);
    let files = [
        (
            "migrations/2_t.up.sql",
            "ALTER TABLE t ADD COLUMN s BIGSERIAL NOT NULL;\nALTER TABLE t ADD COLUMN g INT NOT NULL GENERATED ALWAYS AS (1) STORED;\nDELETE FROM t;",
        ),
        ("migrations/2_t.down.sql", "SELECT 1;"),
    ];
    assert_eq!(located(&check(&mem(&files))), vec![(DESTRUCTIVE.to_string(), "migrations/2_t.up.sql".to_string(), 3)]);
    // A temporary column, added and dropped by the same migration (a type conversion), held no old data.
    let convert = "ALTER TABLE t ADD payload_tmp TEXT;\nUPDATE t SET payload_tmp = CAST(payload AS TEXT);\n\
                   ALTER TABLE t DROP COLUMN payload;\nALTER TABLE t ADD payload TEXT;\n\
                   UPDATE t SET payload = payload_tmp;\nALTER TABLE t ALTER COLUMN payload SET NOT NULL;\n\
                   ALTER TABLE t DROP COLUMN payload_tmp;\n";
    let files = [("migrations/3_t.up.sql", convert), ("migrations/3_t.down.sql", "SELECT 1;")];
    assert_eq!(located(&check(&mem(&files))), vec![(DESTRUCTIVE.to_string(), "migrations/3_t.up.sql".to_string(), 3)]);
    // A statement the parser does not know (sqlparser reads PRAGMA values as numbers or strings
    // only) is a note with its line; the next statement is still checked.
    let files = [
        ("migrations/4_t.up.sql", "PRAGMA journal_mode = WAL;\nDROP TABLE t;"),
        ("migrations/4_t.down.sql", "SELECT 1;"),
    ];
    let out = check(&mem(&files));
    assert_eq!(out.notes.len(), 1);
    assert!(out.notes[0].message.starts_with("line 1: SQL the parser cannot read"), "{:?}", out.notes);
    assert_eq!(located(&out), vec![(DESTRUCTIVE.to_string(), "migrations/4_t.up.sql".to_string(), 2)]);
}

#[test]
fn code_migrations_of_other_shapes() {
    // TypeORM: the SQL it runs is checked; an empty-bodied down is no rollback.
    let typeorm = r#"import { MigrationInterface, QueryRunner } from "typeorm";

export class AddOrders1700000000000 implements MigrationInterface {
    name = "AddOrders1700000000000";

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "order" ("id" SERIAL NOT NULL, "userId" integer, CONSTRAINT "PK_order" PRIMARY KEY ("id"))`);
        await queryRunner.query(`ALTER TABLE "order" ADD CONSTRAINT "FK_order_user" FOREIGN KEY ("userId") REFERENCES "user"("id")`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
    }
}
"#;
    let files = mem(&[("src/migration/1700000000000-AddOrders.ts", typeorm)]);
    let ms = find_migrations(&files);
    assert_eq!(summary(&ms), vec![(Tool::Knex, "1700000000000", false)]);
    assert_eq!(
        located(&check(&files)),
        vec![
            (FK.to_string(), "src/migration/1700000000000-AddOrders.ts".to_string(), 8),
            (NO_ROLLBACK.to_string(), "src/migration/1700000000000-AddOrders.ts".to_string(), 11),
        ]
    );
    // Sequelize: a NOT NULL column without defaultValue.
    let sequelize = "'use strict';\n\nmodule.exports = {\n  async up(queryInterface, Sequelize) {\n    await queryInterface.addColumn('users', 'plan', {\n      type: Sequelize.STRING,\n      allowNull: false,\n    });\n  },\n\n  async down(queryInterface) {\n    await queryInterface.removeColumn('users', 'plan');\n  },\n};\n";
    let out = check(&mem(&[("migrations/20240101-add-plan.js", sequelize)]));
    assert_eq!(located(&out), vec![(NOT_NULL.to_string(), "migrations/20240101-add-plan.js".to_string(), 5)]);
    // Rails: `change` with an irreversible command has no rollback.
    let rails = "class Backfill < ActiveRecord::Migration[7.1]\n  def change\n    change_column :orders, :total, :decimal, precision: 14\n  end\nend\n";
    let out = check(&mem(&[("db/migrate/20240301000000_backfill.rb", rails)]));
    assert_eq!(
        located(&out),
        vec![
            (DESTRUCTIVE.to_string(), "db/migrate/20240301000000_backfill.rb".to_string(), 3),
            (NO_ROLLBACK.to_string(), "db/migrate/20240301000000_backfill.rb".to_string(), 3),
        ]
    );
}
