/* test_image: thread-local storage in an image (initialised .tdata; each
 * thread its own copy). */
__thread int img_tls_var = 7;

int img_tls_get(void) { return img_tls_var; }
void img_tls_set(int v) { img_tls_var = v; }
