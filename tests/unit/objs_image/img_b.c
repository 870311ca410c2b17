/* test_image: the second object of the round-trip program (data and
 * functions img_a.c reaches through relocations across objects). */
int img_b_counter = 5;
const char img_b_name[] = "objb";

int img_b_add(int a, int b) { return a + b; }
int img_b_mul(int a, int b) { return a * b; }
