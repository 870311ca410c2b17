/* libsqlite3.a: an in-memory database, a table, a join, an aggregate, a
 * recursive CTE and a math function. */
#include <sqlite3.h>
#include <stdio.h>

static int row(void *ctx, int n, char **v, char **names)
{
    (void)ctx;
    for (int i = 0; i < n; i++)
        printf("%s%s=%s", i ? " " : "", names[i], v[i] ? v[i] : "NULL");
    putchar('\n');
    return 0;
}

int main(void)
{
    sqlite3 *db;
    char *err = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        return puts("open failed"), 1;
    const char *sql =
        "CREATE TABLE t(k INTEGER PRIMARY KEY, name TEXT, v REAL);"
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 500)"
        "  INSERT INTO t SELECT i, 'n' || (i % 7), i * 0.5 FROM c;"
        "CREATE INDEX t_name ON t(name);"
        "SELECT name, count(*) AS n, sum(v) AS s FROM t GROUP BY name ORDER BY name;"
        "SELECT a.k, b.k FROM t a JOIN t b ON b.k = a.k * 3 WHERE a.k BETWEEN 10 AND 12;"
        "SELECT printf('%.3f', avg(v)) AS avg, max(k) AS mx, group_concat(k, ',') AS few"
        "  FROM (SELECT * FROM t WHERE name = 'n3' AND k < 40);"
        "SELECT typeof(1), typeof(1.5), typeof('x'), typeof(NULL), length(hex(zeroblob(4)));";
    if (sqlite3_exec(db, sql, row, NULL, &err) != SQLITE_OK) {
        printf("error: %s\n", err);
        return 1;
    }
    sqlite3_close(db);
    puts("sqlite ok");
    return 0;
}
