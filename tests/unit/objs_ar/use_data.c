/* Pulls ar_data.o through a variable only. */
extern int ar_data_var;

int use_data(void)
{
    return ar_data_var;
}
