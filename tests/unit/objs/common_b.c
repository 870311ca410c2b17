int shared_common;
__attribute__((weak)) int weak_value(void) { return 1; }
void common_set(int v) { shared_common = v; }
int call_weak(void) { return weak_value(); }
