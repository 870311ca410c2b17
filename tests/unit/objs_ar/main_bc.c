int bc_fn(void);

int main(void)
{
    return bc_fn();
}
