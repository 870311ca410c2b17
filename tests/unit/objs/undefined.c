extern int ej_definitely_undefined_symbol(void);
int calls_undefined(void) { return ej_definitely_undefined_symbol() + 1; }
