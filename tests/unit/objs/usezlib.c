extern const char *zlibVersion(void);
const char *usezlib(void) { return zlibVersion(); }
