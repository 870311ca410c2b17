/* libffi.a: calls built at run time (ffi_call) to functions of several
 * signatures, and a closure (a trampoline libffi writes) called back. */
#include <ffi.h>
#include <stdio.h>

static double mix(int a, double b, long long c, float d)
{
    return a + b * 2 + (double)c / 4 + d;
}

static void add_closure(ffi_cif *cif, void *ret, void **args, void *user)
{
    (void)cif;
    *(ffi_arg *)ret = *(int *)args[0] + *(int *)args[1] + *(int *)user;
}

int main(void)
{
    ffi_cif cif;
    ffi_type *types[] = {&ffi_type_sint, &ffi_type_double, &ffi_type_sint64, &ffi_type_float};
    if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 4, &ffi_type_double, types) != FFI_OK)
        return puts("prep_cif failed"), 1;
    int a = 3;
    double b = 1.25, r = 0;
    long long c = 1000;
    float d = 0.5f;
    void *args[] = {&a, &b, &c, &d};
    ffi_call(&cif, FFI_FN(mix), &r, args);
    printf("mix(3, 1.25, 1000, 0.5) = %g\n", r);

    void *code = NULL;
    ffi_closure *cl = ffi_closure_alloc(sizeof(ffi_closure), &code);
    ffi_cif cif2;
    ffi_type *t2[] = {&ffi_type_sint, &ffi_type_sint};
    static int bias = 100;
    if (!cl || ffi_prep_cif(&cif2, FFI_DEFAULT_ABI, 2, &ffi_type_sint, t2) != FFI_OK ||
        ffi_prep_closure_loc(cl, &cif2, add_closure, &bias, code) != FFI_OK)
        return puts("closure failed"), 1;
    int (*fn)(int, int) = (int (*)(int, int))code;
    printf("closure(20, 22) = %d\n", fn(20, 22));
    int ok = r == 3 + 2.5 + 250 + 0.5 && fn(20, 22) == 142;
    ffi_closure_free(cl);
    return ok ? 0 : 1;
}
