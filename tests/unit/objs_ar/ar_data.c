/* libbasic.a: data only (no function), pulled through a variable. */
int ar_data_var = 42;
const char ar_data_str[] = "from ar_data";
