// elfjit aarch64 fixture linked with the C programs: where the GOT is
// (the loader puts __dso_handle right after the last slot).
        .data
        .p2align 3
        .globl  ej_got_start
ej_got_start:
        .xword  _GLOBAL_OFFSET_TABLE_
        .globl  ej_got_end
ej_got_end:
        .xword  __dso_handle
