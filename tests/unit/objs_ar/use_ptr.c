/* No code at all: the only reference to ar_data_var is a pointer in .data
 * (an absolute relocation), and it must pull ar_data.o. */
extern int ar_data_var;
int *use_ptr = &ar_data_var;
