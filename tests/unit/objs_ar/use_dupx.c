int dupx_needed(void);

int use_dupx(void)
{
    return dupx_needed();
}
