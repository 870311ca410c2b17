/* test_image: compiled by a cross compiler for another architecture
 * (aarch64 on x86_64), saved as an image in link-only mode: the image
 * must then be refused on this host, naming its machine. */
int foreign_value = 3;
int *foreign_ptr = &foreign_value;

int foreign_fn(int x) { return x * foreign_value + *foreign_ptr; }
