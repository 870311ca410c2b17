/* libtcl8.6.a: a Tcl interpreter (no init.tcl needed) evaluating a few
 * scripts: arithmetic on big integers, lists, strings, a procedure,
 * regular expressions, dictionaries. */
#include <stdio.h>
#include <tcl8.6/tcl.h>

int main(int argc, char **argv)
{
    (void)argc;
    Tcl_FindExecutable(argv[0]);
    Tcl_Interp *in = Tcl_CreateInterp();
    static const char *const scripts[] = {
        "expr {2**200 + 1}",
        "proc fib {n} {expr {$n < 2 ? $n : [fib [expr {$n-1}]] + [fib [expr {$n-2}]]}}; fib 20",
        "lsort -integer -decreasing [list 5 3 11 7 2]",
        "string map {a A o O} [string repeat {foo bar } 3]",
        "regsub -all {(\\w+)\\.a} {libz.a and libm.a} {<\\1>}",
        "set d [dict create z 26 a 1 m 13]; dict for {k v} $d {append out $k=$v,}; set out",
        "format %.6f [expr {sqrt(2) * atan(1) * 4}]",
        "binary scan [binary format I 305419896] H* h; set h",
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof scripts / sizeof *scripts; i++) {
        int rc = Tcl_Eval(in, scripts[i]);
        printf("%s: %s\n", rc == TCL_OK ? "ok" : "error", Tcl_GetStringResult(in));
        ok = ok && rc == TCL_OK;
    }
    Tcl_DeleteInterp(in);
    return ok ? 0 : 1;
}
