/* A name no object, archive or library defines, with archives present. */
int ej_ar_nowhere(void);
int ar_add(int a, int b);

int main(void)
{
    return ej_ar_nowhere() + ar_add(1, 2);
}
