//! A seeded SQL workload for slow-log tests and `scripts/bench digest`: a small shop schema
//! and a mix of statement shapes (point and range reads, joins, IN lists, multi-row
//! inserts, UNIONs, comments, multi-line text, CALL, SHOW, USE, transactions, numbered
//! tables), with random literals so that many entries share few fingerprints.

#![allow(dead_code)] // each user takes what it needs

/// xorshift64: deterministic and dependency-free.
pub struct Seeded(u64);

impl Seeded {
    pub fn new(seed: u64) -> Self {
        Seeded(seed.max(1))
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }

    fn word(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| (b'a' + self.below(26) as u8) as char)
            .collect()
    }

    fn list(&mut self, max: u64, value: impl Fn(&mut Self) -> String) -> String {
        let n = 1 + self.below(max);
        (0..n).map(|_| value(self)).collect::<Vec<_>>().join(", ")
    }
}

const CUSTOMERS: u64 = 2000;
const ORDERS: u64 = 8000;
const STATUSES: &[&str] = &["new", "paid", "shipped", "returned", "cancelled"];

/// Creates `db` (dropped first) with data; ends with `USE db`.
pub fn setup_sql(db: &str, rng: &mut Seeded) -> String {
    let mut sql = format!(
        "DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db}; USE {db};
CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40), email VARCHAR(80), city VARCHAR(20), created DATETIME);
CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT, status VARCHAR(12), total DECIMAL(10,2), created DATETIME, KEY (customer_id));
CREATE TABLE items (order_id INT, sku VARCHAR(12), qty INT, price DECIMAL(8,2), KEY (order_id));
CREATE TABLE orders_2023 LIKE orders;
CREATE PROCEDURE order_stats(IN cid INT) SELECT COUNT(*), SUM(total) FROM orders WHERE customer_id = cid;
"
    );
    for chunk in (1..=CUSTOMERS).collect::<Vec<_>>().chunks(200) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|id| {
                format!(
                    "({id}, '{}', '{}@example.com', 'c{}', '2023-0{}-1{} 10:00:00')",
                    rng.word(8),
                    rng.word(6),
                    rng.below(40),
                    1 + rng.below(9),
                    rng.below(10)
                )
            })
            .collect();
        sql.push_str(&format!(
            "INSERT INTO customers VALUES {};\n",
            rows.join(",")
        ));
    }
    for chunk in (1..=ORDERS).collect::<Vec<_>>().chunks(200) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|id| {
                format!(
                    "({id}, {}, '{}', {}.{:02}, '2023-{:02}-1{} 12:00:00')",
                    1 + rng.below(CUSTOMERS),
                    STATUSES[rng.below(5) as usize],
                    rng.below(900),
                    rng.below(100),
                    1 + rng.below(12),
                    rng.below(10)
                )
            })
            .collect();
        sql.push_str(&format!("INSERT INTO orders VALUES {};\n", rows.join(",")));
    }
    sql
}

/// One random statement (terminated by `;\n`).
pub fn statement(rng: &mut Seeded, db: &str) -> String {
    let id = 1 + rng.below(CUSTOMERS);
    let order = 1 + rng.below(ORDERS);
    let status = STATUSES[rng.below(5) as usize];
    let sql = match rng.below(24) {
        0..=3 => format!("SELECT * FROM customers WHERE id = {id}"),
        4 => format!("SELECT name, email FROM customers WHERE email = '{}@example.com'", rng.word(6)),
        5 => format!("SELECT * FROM orders WHERE customer_id = {id} ORDER BY created DESC LIMIT {}", 1 + rng.below(20)),
        6 => format!(
            "SELECT o.id, c.name\nFROM orders o\n\tJOIN customers c ON c.id = o.customer_id\nWHERE o.status = '{status}' LIMIT {}",
            1 + rng.below(50)
        ),
        7 => format!("SELECT COUNT(*) FROM orders WHERE status IN ({})", rng.list(4, |r| format!("'{}'", STATUSES[r.below(5) as usize]))),
        8 => format!("SELECT * FROM items WHERE order_id IN ({})", rng.list(30, |r| (1 + r.below(ORDERS)).to_string())),
        9 => format!("UPDATE orders SET status = '{status}', total = total + {}.5 WHERE id = {order}", rng.below(10)),
        10 => format!(
            "INSERT INTO items (order_id, sku, qty, price) VALUES {}",
            rng.list(5, |r| format!("({}, 'SKU-{}', {}, {}.99)", 1 + r.below(ORDERS), r.below(500), 1 + r.below(5), r.below(100)))
        ),
        11 => format!("DELETE FROM items WHERE order_id = {order} AND sku = 'SKU-{}'", rng.below(500)),
        12 => "SELECT city, COUNT(*) FROM customers GROUP BY city ORDER BY 2 DESC".to_string(),
        13 => format!("SELECT * FROM customers WHERE name LIKE '{}%' ORDER BY name ASC LIMIT 10 OFFSET {}", rng.word(2), rng.below(5) * 10),
        14 => format!("SELECT /* report:monthly */ SUM(total) FROM orders WHERE created > '2023-{:02}-01' -- totals\n", 1 + rng.below(12)),
        15 => format!(
            "SELECT id FROM orders WHERE customer_id = {id} UNION SELECT id FROM orders WHERE customer_id = {} UNION ALL SELECT id FROM orders WHERE customer_id = {}",
            1 + rng.below(CUSTOMERS),
            1 + rng.below(CUSTOMERS)
        ),
        16 => format!("CALL order_stats({id})"),
        17 => "SHOW GLOBAL STATUS LIKE 'Threads%'".to_string(),
        18 => format!("SELECT * FROM orders WHERE total > -{}.25 AND created IS NOT NULL AND TRUE AND id <> 0x{:x}", rng.below(10), order),
        19 => format!("INSERT INTO orders_2023 SELECT * FROM orders WHERE id = {order} ON DUPLICATE KEY UPDATE total = VALUES(total)"),
        20 => format!("BEGIN;\nUPDATE customers SET city = 'c{}' WHERE id = {id};\nCOMMIT", rng.below(40)),
        21 => format!("SELECT SQL_NO_CACHE c.* FROM customers c WHERE c.id BETWEEN {id} AND {}", id + rng.below(100)),
        22 => format!("USE {db}"),
        _ => format!("SELECT status, AVG(total) FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE city = 'c{}') GROUP BY status", rng.below(40)),
    };
    sql + ";\n"
}

/// Setup plus `statements` random statements, all in `db`.
pub fn workload_sql(db: &str, seed: u64, statements: usize) -> String {
    let mut rng = Seeded::new(seed);
    let mut sql = setup_sql(db, &mut rng);
    for _ in 0..statements {
        sql.push_str(&statement(&mut rng, db));
    }
    sql
}
