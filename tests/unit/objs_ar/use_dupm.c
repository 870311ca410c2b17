int dupm(void);

int use_dupm(void)
{
    return dupm();
}
