int weak_value(void) { return 2; }
