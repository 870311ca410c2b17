struct entry { const char *name; int value; };
static const struct entry third __attribute__((used, section("ej_registry"))) = {"third", 40};
