/* The sqlite workload's driver: linked with the members of Debian's
 * libsqlite3.a (extracted with `ar x`), it opens an in-memory database,
 * fills two tables inside one transaction, runs a join, aggregates, a
 * recursive CTE and a few other queries, and checks every answer against
 * values it computes itself without sqlite.  It prints one line,
 * "sqlite ok ...", and exits 0 only when every answer is right; a wrong
 * answer prints what differed on stderr and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#ifndef NCUST
#define NCUST 100
#endif
#ifndef NORDER
#define NORDER 2000
#endif
#ifndef NCTE
#define NCTE 500
#endif
#define NREGION 7

static sqlite3 *db;
static int failures;

static void die(const char *what)
{
    fprintf(stderr, "sqlite_driver: %s: %s\n", what, sqlite3_errmsg(db));
    exit(2);
}

static void exec(const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "sqlite_driver: %s: %s\n", sql, err ? err : "?");
        exit(2);
    }
}

static sqlite3_stmt *prepare(const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die(sql);
    return st;
}

static void check(const char *what, long long got, long long want)
{
    if (got != want) {
        fprintf(stderr, "sqlite_driver: wrong answer: %s: got %lld, want %lld\n", what, got, want);
        failures++;
    }
}

/* The first column of the single row SQL returns. */
static long long scalar(const char *sql)
{
    sqlite3_stmt *st = prepare(sql);
    if (sqlite3_step(st) != SQLITE_ROW)
        die(sql);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int cust_of(int i) { return (i * 31) % NCUST + 1; }
static int amount_of(int i) { return (i * 7919) % 1000 + 1; }
static int region_of(int c) { return (c * 13) % NREGION; }

int main(void)
{
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        die("open");
    exec("CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL, region INTEGER);"
         "CREATE TABLE orders(id INTEGER PRIMARY KEY, cust INTEGER REFERENCES customers(id),"
         "                    amount INTEGER, note TEXT);"
         "CREATE INDEX orders_cust ON orders(cust);");

    exec("BEGIN");
    sqlite3_stmt *ins = prepare("INSERT INTO customers(id, name, region) VALUES (?1, ?2, ?3)");
    char name[64];
    for (int c = 1; c <= NCUST; c++) {
        snprintf(name, sizeof name, "cust-%d", c);
        sqlite3_bind_int(ins, 1, c);
        sqlite3_bind_text(ins, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(ins, 3, region_of(c));
        if (sqlite3_step(ins) != SQLITE_DONE)
            die("insert customer");
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    ins = prepare("INSERT INTO orders(id, cust, amount, note) VALUES (?1, ?2, ?3, ?4)");
    for (int i = 1; i <= NORDER; i++) {
        snprintf(name, sizeof name, "order %d for %d", i, cust_of(i));
        sqlite3_bind_int(ins, 1, i);
        sqlite3_bind_int(ins, 2, cust_of(i));
        sqlite3_bind_int(ins, 3, amount_of(i));
        sqlite3_bind_text(ins, 4, name, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(ins) != SQLITE_DONE)
            die("insert order");
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    exec("COMMIT");

    /* The same facts, computed without sqlite. */
    long long total = 0, per_region_n[NREGION] = {0}, per_region_sum[NREGION] = {0};
    long long per_cust[NCUST + 1] = {0};
    long long big = 0;
    for (int i = 1; i <= NORDER; i++) {
        total += amount_of(i);
        per_region_n[region_of(cust_of(i))]++;
        per_region_sum[region_of(cust_of(i))] += amount_of(i);
        per_cust[cust_of(i)] += amount_of(i);
        big += amount_of(i) > 900;
    }
    int best = 1;
    for (int c = 2; c <= NCUST; c++)
        if (per_cust[c] > per_cust[best])
            best = c;
    int like = 0;
    for (int c = 1; c <= NCUST; c++) {
        snprintf(name, sizeof name, "cust-%d", c);
        like += strncmp(name, "cust-4", 6) == 0;
    }

    int checks = 0;
    check("count(orders)", scalar("SELECT count(*) FROM orders"), NORDER), checks++;
    check("sum(amount)", scalar("SELECT sum(amount) FROM orders"), total), checks++;
    check("count(amount > 900)", scalar("SELECT count(*) FROM orders WHERE amount > 900"), big), checks++;
    check("LIKE 'cust-4%'", scalar("SELECT count(*) FROM customers WHERE name LIKE 'cust-4%'"), like),
        checks++;

    /* Join and GROUP BY. */
    sqlite3_stmt *st = prepare("SELECT c.region, count(*), sum(o.amount) FROM orders o"
                               " JOIN customers c ON o.cust = c.id"
                               " GROUP BY c.region ORDER BY c.region");
    int rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int r = sqlite3_column_int(st, 0);
        if (r < 0 || r >= NREGION) {
            check("join region", r, -1);
            break;
        }
        check("join count", sqlite3_column_int64(st, 1), per_region_n[r]);
        check("join sum", sqlite3_column_int64(st, 2), per_region_sum[r]);
        rows++;
    }
    sqlite3_finalize(st);
    check("join rows", rows, NREGION), checks++;

    /* Top customer by total, ties by id. */
    st = prepare("SELECT cust, sum(amount) AS s FROM orders GROUP BY cust ORDER BY s DESC, cust LIMIT 1");
    if (sqlite3_step(st) != SQLITE_ROW)
        die("top customer");
    check("top customer", sqlite3_column_int(st, 0), best);
    check("top customer total", sqlite3_column_int64(st, 1), per_cust[best]), checks++;
    sqlite3_finalize(st);

    /* Recursive CTEs: a counter and Fibonacci. */
    char sql[256];
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE cnt(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM cnt WHERE x < %d)"
             " SELECT sum(x) FROM cnt", NCTE);
    check("recursive sum 1..NCTE", scalar(sql), (long long)NCTE * (NCTE + 1) / 2), checks++;
    check("fibonacci(80)",
          scalar("WITH RECURSIVE fib(n, a, b) AS (SELECT 0, 0, 1 UNION ALL"
                 " SELECT n + 1, b, a + b FROM fib WHERE n < 80) SELECT a FROM fib WHERE n = 80"),
          23416728348467685LL), checks++;

    /* An update and a delete, then the aggregate again. */
    exec("UPDATE orders SET amount = amount * 2 WHERE cust = 1;"
         "DELETE FROM orders WHERE amount <= 10;");
    long long after = 0, after_n = 0;
    for (int i = 1; i <= NORDER; i++) {
        long long a = amount_of(i) * (cust_of(i) == 1 ? 2 : 1);
        if (a > 10)
            after += a, after_n++;
    }
    check("sum after update/delete", scalar("SELECT sum(amount) FROM orders"), after);
    check("count after update/delete", scalar("SELECT count(*) FROM orders"), after_n), checks++;

    /* String functions and printf in SQL. */
    st = prepare("SELECT group_concat(printf('%03d', id), ',') FROM (SELECT id FROM customers"
                 " WHERE region = 3 ORDER BY id LIMIT 5)");
    if (sqlite3_step(st) != SQLITE_ROW)
        die("group_concat");
    char want[128] = "";
    int n = 0;
    for (int c = 1; c <= NCUST && n < 5; c++)
        if (region_of(c) == 3)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%03d", n++ ? "," : "", c);
    const char *got = (const char *)sqlite3_column_text(st, 0);
    if (!got || strcmp(got, want) != 0) {
        fprintf(stderr, "sqlite_driver: wrong answer: group_concat: got '%s', want '%s'\n",
                got ? got : "(null)", want);
        failures++;
    }
    checks++;
    sqlite3_finalize(st);

    if (sqlite3_close(db) != SQLITE_OK)
        die("close");
    if (failures) {
        fprintf(stderr, "sqlite_driver: %d wrong answers\n", failures);
        return 1;
    }
    printf("sqlite ok: %d checks, total %lld\n", checks, total);
    return 0;
}
